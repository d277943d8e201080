namespace XdsControlPlane.Envoy.Validation.Json;

/// <summary>The protobuf wire types (a tag's low three bits).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// One field occurrence read from a message's bytes: its number and wire type, and its value — the number itself for
/// varint and fixed-width values, the offset and length of the payload within the message for length-delimited ones.
/// </summary>
internal readonly record struct WireEntry(int Number, WireType WireType, ulong Value, int Offset, int Length)
{
    /// <summary>The payload of a length-delimited entry within <paramref name="message"/>, the bytes it was read from.</summary>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> message) => message.Slice(Offset, Length);
}

/// <summary>Reads the field occurrences of one message's bytes, in the order they were written.</summary>
internal static class WireReader
{
    /// <summary>Every occurrence in <paramref name="message"/>; throws <see cref="WireJsonUnsupportedException"/> on malformed bytes or groups.</summary>
    public static List<WireEntry> Entries(ReadOnlySpan<byte> message)
    {
        var entries = new List<WireEntry>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message, ref position);
            var number = (int)(tag >> 3);
            var wireType = (WireType)(tag & 7);
            if (number <= 0 || tag >> 3 > int.MaxValue)
            {
                throw new WireJsonUnsupportedException($"invalid tag {tag}");
            }

            entries.Add(wireType switch
            {
                WireType.Varint => new WireEntry(number, wireType, ReadVarint(message, ref position), 0, 0),
                WireType.Fixed64 => new WireEntry(number, wireType, ReadFixed(message, ref position, 8), 0, 0),
                WireType.Fixed32 => new WireEntry(number, wireType, ReadFixed(message, ref position, 4), 0, 0),
                WireType.LengthDelimited => ReadLengthDelimited(number, message, ref position),
                _ => throw new WireJsonUnsupportedException($"field {number} has wire type {wireType}"),
            });
        }

        return entries;
    }

    /// <summary>The varint at <paramref name="position"/> in <paramref name="bytes"/>, moving past it.</summary>
    public static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= bytes.Length)
            {
                throw new WireJsonUnsupportedException("truncated varint");
            }

            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new WireJsonUnsupportedException("varint longer than 10 bytes");
    }

    /// <summary>The little-endian value of <paramref name="size"/> (4 or 8) bytes at <paramref name="position"/>, moving past it.</summary>
    public static ulong ReadFixed(ReadOnlySpan<byte> bytes, ref int position, int size)
    {
        if (bytes.Length - position < size)
        {
            throw new WireJsonUnsupportedException("truncated fixed-width value");
        }

        var slice = bytes.Slice(position, size);
        position += size;
        return size == 8 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(slice) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(slice);
    }

    private static WireEntry ReadLengthDelimited(int number, ReadOnlySpan<byte> message, ref int position)
    {
        var length = ReadVarint(message, ref position);
        if (length > (ulong)(message.Length - position))
        {
            throw new WireJsonUnsupportedException($"field {number} runs past the end of its message");
        }

        var entry = new WireEntry(number, WireType.LengthDelimited, 0, position, (int)length);
        position += (int)length;
        return entry;
    }
}

/// <summary>Bytes or a schema <see cref="WireJsonPrinter"/> does not print itself (the caller prints with Google.Protobuf instead).</summary>
internal sealed class WireJsonUnsupportedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WireJsonUnsupportedException()
    {
    }

    /// <summary>Creates the exception with the reason.</summary>
    public WireJsonUnsupportedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public WireJsonUnsupportedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
