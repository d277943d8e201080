using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// How tunnel frames cross gRPC, for the broker and the agent alike: serialized as protobuf's generated code does, and
/// parsed by it too — except the Data frame as protobuf writes it (<c>data</c> holding <c>connection_id</c> then
/// <c>payload</c>, nothing else), the bulk of every tunnel, whose payload goes into an array that is not zeroed first:
/// protobuf's parser allocates a zeroed array and then copies over all of it, so every byte tunnelled was written
/// twice. Anything else, and any Data frame laid out otherwise, goes to the generated parser, which decides (and
/// throws on what breaks the wire format) exactly as before.
/// </summary>
public static class FrameCodec
{
    /// <summary>Tag of <c>Frame.data</c> (field 4, length-delimited).</summary>
    private const byte DataTag = (4 << 3) | 2;

    /// <summary>Tag of <c>Data.connection_id</c> (field 1, varint).</summary>
    private const byte ConnectionIdTag = (1 << 3) | 0;

    /// <summary>Tag of <c>Data.payload</c> (field 2, length-delimited).</summary>
    private const byte PayloadTag = (2 << 3) | 2;

    /// <summary>The marshaller of <see cref="Frame"/> for the tunnel's <c>Connect</c> stream.</summary>
    public static readonly Marshaller<Frame> Frames = Marshallers.Create<Frame>(Serialize, context => Parse(context.PayloadAsReadOnlySequence()));

    /// <summary>The <c>Connect</c> method (<c>sandboxctl.tunnel.v1.TunnelBroker/Connect</c>) with <see cref="Frames"/> both ways.</summary>
    public static readonly Method<Frame, Frame> Connect = new(MethodType.DuplexStreaming, TunnelBroker.Descriptor.FullName, "Connect", Frames, Frames);

    /// <summary>Parses one frame from <paramref name="message"/> (a whole gRPC message); throws <see cref="InvalidProtocolBufferException"/> as protobuf does.</summary>
    public static Frame Parse(ReadOnlySequence<byte> message) => TryParseData(message) ?? Frame.Parser.ParseFrom(message);

    /// <summary>Writes <paramref name="message"/> as the generated code does.</summary>
    internal static void Serialize<T>(T message, SerializationContext context)
        where T : IMessage
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    /// <summary>The Data frame in <paramref name="message"/> when it is laid out as protobuf writes one; null for anything else.</summary>
    private static Frame? TryParseData(ReadOnlySequence<byte> message)
    {
        var reader = new SequenceReader<byte>(message);
        if (!reader.TryRead(out var tag) || tag != DataTag || !TryReadVarint(ref reader, out var length) || length != (ulong)reader.Remaining)
        {
            return null;
        }

        var data = new Data();
        if (reader.IsNext(ConnectionIdTag, advancePast: true))
        {
            if (!TryReadVarint(ref reader, out var id))
            {
                return null;
            }

            data.ConnectionId = id;
        }

        if (reader.IsNext(PayloadTag, advancePast: true))
        {
            if (!TryReadVarint(ref reader, out var size) || size > (ulong)reader.Remaining)
            {
                return null;
            }

            var payload = GC.AllocateUninitializedArray<byte>((int)size);
            reader.TryCopyTo(payload);
            reader.Advance(payload.Length);
            data.Payload = UnsafeByteOperations.UnsafeWrap(payload);
        }

        return reader.End ? new Frame { Data = data } : null;
    }

    /// <summary>A base-128 varint of at most 10 bytes.</summary>
    private static bool TryReadVarint(ref SequenceReader<byte> reader, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
