using System.Buffers;
using CsCheck;
using Google.Protobuf;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// The tunnel's frame codec parses what protobuf's generated parser parses, to the same frame, and refuses what it
/// refuses — for Data frames on its own path, for everything else through the generated parser.
/// </summary>
public sealed class FrameCodecTests
{
    [TestCase(0UL, 0)]
    [TestCase(1UL, 1)]
    [TestCase(2UL, 16 * 1024)]
    [TestCase(ulong.MaxValue, 65_504)]
    [TestCase(300UL, 1024 * 1024)]
    public void Parse_DataFrame_EqualsTheGeneratedParser_InOnePieceAndInMany(ulong id, int size)
    {
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var wire = new Frame { Data = new Data { ConnectionId = id, Payload = ByteString.CopyFrom(payload) } }.ToByteArray();

        var whole = FrameCodec.Parse(new ReadOnlySequence<byte>(wire));
        var pieces = FrameCodec.Parse(Pieces(wire, 7));

        Assert.Multiple(() =>
        {
            Assert.That(whole, Is.EqualTo(Frame.Parser.ParseFrom(wire)));
            Assert.That(pieces, Is.EqualTo(whole));
            Assert.That(whole.Data.Payload.Span.SequenceEqual(payload), Is.True);
        });
    }

    [Test]
    public void Parse_OtherFramesAndOtherLayouts_AsTheGeneratedParser()
    {
        var reversed = new byte[] { 0x22, 0x05, 0x12, 0x01, 0xAB, 0x08, 0x07 };
        var unknownField = new byte[] { 0x22, 0x04, 0x08, 0x07, 0x18, 0x01 };
        var dataThenOpen = new Frame { Data = new Data { ConnectionId = 3 } }.ToByteArray().Concat(new Frame { Open = new Open { ConnectionId = 5, Port = 80 } }.ToByteArray()).ToArray();
        var open = new Frame { Open = new Open { ConnectionId = 5, Port = 80 } }.ToByteArray();
        var ping = new Frame { Ping = new Ping { Id = 9 } }.ToByteArray();

        foreach (var wire in new[] { reversed, unknownField, dataThenOpen, open, ping, Array.Empty<byte>() })
        {
            Assert.That(FrameCodec.Parse(new ReadOnlySequence<byte>(wire)), Is.EqualTo(Frame.Parser.ParseFrom(wire)), Convert.ToHexString(wire));
        }
    }

    [TestCase("2205080712")]
    [TestCase("22050807120A")]
    [TestCase("220308FFFF")]
    [TestCase("2202121001")]
    public void Parse_BrokenDataFrame_ThrowsAsTheGeneratedParser(string hex)
    {
        var wire = Convert.FromHexString(hex);

        Assert.Multiple(() =>
        {
            Assert.That(() => Frame.Parser.ParseFrom(wire), Throws.InstanceOf<InvalidProtocolBufferException>());
            Assert.That(() => FrameCodec.Parse(new ReadOnlySequence<byte>(wire)), Throws.InstanceOf<InvalidProtocolBufferException>());
        });
    }

    /// <summary>Data frames with random bytes changed, cut or added: the codec and the generated parser agree on each (the same frame, or both refuse).</summary>
    [Test]
    [Category("Fuzz")]
    public void Parse_MutatedDataFrames_AgreesWithTheGeneratedParser()
    {
        var frames = Gen.Select(Gen.ULong, Gen.Byte.Array[0, 300]).Select((id, payload) => new Frame { Data = new Data { ConnectionId = id, Payload = ByteString.CopyFrom(payload) } }.ToByteArray());
        var mutated = Gen.Select(frames, Gen.Int[0, 3], Gen.Int[0, int.MaxValue], Gen.Byte.Array[1, 4]).Select((wire, how, at, bytes) => Mutate(wire, how, at, bytes));
        mutated.Sample(
            wire =>
            {
                Frame? expected;
                try
                {
                    expected = Frame.Parser.ParseFrom(wire);
                }
                catch (InvalidProtocolBufferException)
                {
                    expected = null;
                }

                if (expected is null)
                {
                    Assert.That(() => FrameCodec.Parse(Pieces(wire, 3)), Throws.InstanceOf<InvalidProtocolBufferException>(), Convert.ToHexString(wire));
                }
                else
                {
                    Assert.That(FrameCodec.Parse(Pieces(wire, 3)), Is.EqualTo(expected), Convert.ToHexString(wire));
                }
            },
            seed: FuzzRun.Seed,
            time: FuzzRun.Seconds(3),
            print: Convert.ToHexString);
    }

    /// <summary>Changes (how 0), cuts at (1), inserts at (2) or appends (3) <paramref name="bytes"/> to <paramref name="wire"/>.</summary>
    private static byte[] Mutate(byte[] wire, int how, int at, byte[] bytes)
    {
        var i = wire.Length == 0 ? 0 : at % wire.Length;
        return how switch
        {
            0 when wire.Length > 0 => [.. wire[..i], bytes[0], .. wire[(i + 1)..]],
            1 => wire[..i],
            2 => [.. wire[..i], .. bytes, .. wire[i..]],
            _ => [.. wire, .. bytes],
        };
    }

    /// <summary><paramref name="wire"/> as a sequence of segments of at most <paramref name="size"/> bytes, as a pipe hands out a message that spans blocks.</summary>
    private static ReadOnlySequence<byte> Pieces(byte[] wire, int size)
    {
        if (wire.Length <= size)
        {
            return new ReadOnlySequence<byte>(wire);
        }

        Segment? first = null;
        Segment? last = null;
        for (var at = 0; at < wire.Length; at += size)
        {
            var piece = wire.AsMemory(at, Math.Min(size, wire.Length - at));
            last = last is null ? first = new Segment(piece, 0) : last.Append(piece);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
