using System.Globalization;
using System.Text;
using Google.Protobuf.WellKnownTypes;

namespace XdsControlPlane.Envoy.Validation.Json;

/// <summary>
/// The JSON forms of Google's well-known types, as Google.Protobuf's <c>JsonFormatter</c> writes them: <c>Any</c> as
/// <c>{"@type": URL, ...its fields}</c> (or <c>"value"</c> for a well-known type inside), wrappers as their value,
/// <c>Duration</c> and <c>Timestamp</c> as strings, <c>Struct</c>, <c>Value</c> and <c>ListValue</c> as the JSON they hold;
/// the others (<c>Empty</c>, ...) as ordinary messages. <c>FieldMask</c> is left to Google.Protobuf.
/// </summary>
internal static class WellKnownJson
{
    /// <summary>Writes a message of the well-known <paramref name="type"/>.</summary>
    public static void Write(MessageJsonWriter writer, WireMessage type, ReadOnlySpan<byte> bytes)
    {
        switch (type.FullName)
        {
            case "google.protobuf.Any":
                WriteAny(writer, bytes);
                break;
            case "google.protobuf.Duration":
                WriteTime(writer, bytes, (seconds, nanos) => IsNormalDuration(seconds, nanos) ? new Duration { Seconds = seconds, Nanos = nanos }.ToDiagnosticString() : null);
                break;
            case "google.protobuf.Timestamp":
                WriteTime(writer, bytes, (seconds, nanos) => IsNormalTimestamp(seconds, nanos) ? new Timestamp { Seconds = seconds, Nanos = nanos }.ToDiagnosticString() : null);
                break;
            case "google.protobuf.Struct":
                WriteStruct(writer, bytes);
                break;
            case "google.protobuf.Value":
                WriteValue(writer, bytes);
                break;
            case "google.protobuf.ListValue":
                WriteListValue(writer, bytes);
                break;
            case "google.protobuf.FieldMask":
                throw new WireJsonUnsupportedException("FieldMask");
            case "google.protobuf.DoubleValue" or "google.protobuf.FloatValue" or "google.protobuf.Int64Value" or "google.protobuf.UInt64Value"
                or "google.protobuf.Int32Value" or "google.protobuf.UInt32Value" or "google.protobuf.BoolValue" or "google.protobuf.StringValue"
                or "google.protobuf.BytesValue":
                WriteWrapper(writer, type, bytes);
                break;
            default:
                writer.Json.WriteStartObject();
                writer.WriteFields(type, bytes);
                writer.Json.WriteEndObject();
                break;
        }
    }

    private static void WriteAny(MessageJsonWriter writer, ReadOnlySpan<byte> bytes)
    {
        var entries = WireReader.Entries(bytes);
        var typeUrl = Last(entries, 1, WireType.LengthDelimited) is { } url ? Encoding.UTF8.GetString(url.Payload(bytes)) : "";
        var value = Last(entries, 2, WireType.LengthDelimited) is { } v ? v.Payload(bytes) : default;
        var slash = typeUrl.LastIndexOf('/');
        var type = slash < 0 ? throw new WireJsonUnsupportedException($"Any type URL '{typeUrl}' has no type name") : writer.MessageType(typeUrl[(slash + 1)..]);
        writer.Json.WriteStartObject();
        writer.Json.WriteString("@type", typeUrl);
        if (type.IsWellKnownType)
        {
            writer.Json.WritePropertyName("value");
            writer.WriteMessage(type, value);
        }
        else
        {
            writer.WriteFields(type, value);
        }

        writer.Json.WriteEndObject();
    }

    private static void WriteTime(MessageJsonWriter writer, ReadOnlySpan<byte> bytes, Func<long, int, string?> format)
    {
        var entries = WireReader.Entries(bytes);
        var seconds = Last(entries, 1, WireType.Varint) is { } s ? (long)s.Value : 0;
        var nanos = Last(entries, 2, WireType.Varint) is { } n ? (int)n.Value : 0;

        // Google.Protobuf's own text (quoted); JsonFormatter throws on values out of range, which are left to it.
        var text = format(seconds, nanos) ?? throw new WireJsonUnsupportedException("a duration or timestamp out of range");
        writer.Json.WriteStringValue(text.AsSpan(1, text.Length - 2));
    }

    private static bool IsNormalDuration(long seconds, int nanos) =>
        seconds is >= Duration.MinSeconds and <= Duration.MaxSeconds
        && nanos is > -Duration.NanosecondsPerSecond and < Duration.NanosecondsPerSecond
        && Math.Sign(seconds) * Math.Sign(nanos) != -1;

    private static bool IsNormalTimestamp(long seconds, int nanos) =>
        seconds is >= -62_135_596_800L and <= 253_402_300_799L && nanos is >= 0 and < Duration.NanosecondsPerSecond;

    private static void WriteStruct(MessageJsonWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Json.WriteStartObject();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in WireReader.Entries(bytes))
        {
            if (entry.Number != 1 || entry.WireType != WireType.LengthDelimited)
            {
                throw new WireJsonUnsupportedException("Struct holds something other than fields");
            }

            var field = entry.Payload(bytes);
            var parts = WireReader.Entries(field);
            var key = Last(parts, 1, WireType.LengthDelimited) is { Length: > 0 } k ? Encoding.UTF8.GetString(k.Payload(field))
                : throw new WireJsonUnsupportedException("a Struct field with an empty name");
            var value = Last(parts, 2, WireType.LengthDelimited) ?? throw new WireJsonUnsupportedException("a Struct field without a value");
            if (!keys.Add(key))
            {
                throw new WireJsonUnsupportedException($"a Struct with the field {key} twice");
            }

            writer.Json.WritePropertyName(key);
            WriteValue(writer, value.Payload(field));
        }

        writer.Json.WriteEndObject();
    }

    private static void WriteValue(MessageJsonWriter writer, ReadOnlySpan<byte> bytes)
    {
        var entries = WireReader.Entries(bytes);
        var kind = entries.Count > 0 ? entries[^1] : throw new WireJsonUnsupportedException("a Value with no kind");
        switch (kind.Number, kind.WireType)
        {
            case (1, WireType.Varint):
                writer.Json.WriteNullValue();
                break;
            case (2, WireType.Fixed64):
                ScalarJson.WriteFloating(writer.Json, BitConverter.Int64BitsToDouble((long)kind.Value).ToString("r", CultureInfo.InvariantCulture));
                break;
            case (3, WireType.LengthDelimited):
                writer.Json.WriteStringValue(Encoding.UTF8.GetString(kind.Payload(bytes)));
                break;
            case (4, WireType.Varint):
                writer.Json.WriteBooleanValue(kind.Value != 0);
                break;
            case (5, WireType.LengthDelimited):
                WriteStruct(writer, kind.Payload(bytes));
                break;
            case (6, WireType.LengthDelimited):
                WriteListValue(writer, kind.Payload(bytes));
                break;
            default:
                throw new WireJsonUnsupportedException($"a Value whose last field is {kind.Number}");
        }
    }

    private static void WriteListValue(MessageJsonWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Json.WriteStartArray();
        foreach (var entry in WireReader.Entries(bytes))
        {
            if (entry.Number != 1 || entry.WireType != WireType.LengthDelimited)
            {
                throw new WireJsonUnsupportedException("ListValue holds something other than values");
            }

            WriteValue(writer, entry.Payload(bytes));
        }

        writer.Json.WriteEndArray();
    }

    private static void WriteWrapper(MessageJsonWriter writer, WireMessage type, ReadOnlySpan<byte> bytes)
    {
        var field = type.Field(1) ?? throw new WireJsonUnsupportedException($"{type.FullName} has no value field");
        if (Last(WireReader.Entries(bytes), 1, ScalarJson.WireTypeOf(field.Type)) is { } value)
        {
            ScalarJson.Write(writer.Json, field.Type, null, value.Value, value.Payload(bytes));
        }
        else
        {
            ScalarJson.Write(writer.Json, field.Type, null, 0, default);
        }
    }

    /// <summary>The last occurrence of field <paramref name="number"/> (the one a parser keeps), which must have <paramref name="wireType"/>.</summary>
    private static WireEntry? Last(List<WireEntry> entries, int number, WireType wireType)
    {
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            if (entries[i].Number == number)
            {
                return entries[i].WireType == wireType ? entries[i] : throw new WireJsonUnsupportedException($"field {number} written as {entries[i].WireType}");
            }
        }

        return null;
    }
}
