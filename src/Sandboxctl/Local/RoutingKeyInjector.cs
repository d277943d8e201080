using System.Buffers;
using System.Globalization;
using System.Text;
using XdsControlPlane.Tunnel;

namespace Sandboxctl.Local;

/// <summary>
/// Adds <c>x-routing-key: KEY</c> to every HTTP/1.x request a laptop app sends through an exposed port that carries
/// neither that header nor a <c>routing-key</c> member in <c>baggage</c>, so the next hop in the cluster routes by the
/// key too. It parses request heads incrementally and follows each body (Content-Length, chunked), so every request
/// of a keep-alive connection is seen, however the bytes are split. After a protocol switch (Upgrade, CONNECT) and
/// for HTTP/2 (the prior-knowledge preface: gRPC) it passes the connection through untouched; a head over 64 KiB or
/// anything it cannot parse also passes the rest of the connection through, and it says so once.
/// </summary>
internal sealed class RoutingKeyInjector : IByteTransform
{
    /// <summary>The largest request head looked at.</summary>
    public const int MaxHead = 64 * 1024;

    /// <summary>The header added.</summary>
    public const string HeaderName = "x-routing-key";

    private const int MaxLine = HttpRequestHead.MaxLine;
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly byte[] _header;
    private readonly Action<string>? _gaveUp;
    private readonly ArrayBufferWriter<byte> _head = new(1024);
    private readonly byte[] _line = new byte[MaxLine];
    private int _lineLength;
    private Parse _state = Parse.Head;
    private int _matched;
    private long _remaining;
    private bool _switchesProtocol;
    private bool _reported;
    private byte _previous;

    /// <summary>An injector adding <paramref name="routingKey"/>; <paramref name="gaveUp"/> hears why, the one time it stops parsing.</summary>
    public RoutingKeyInjector(string routingKey, Action<string>? gaveUp = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(routingKey);
        if (routingKey.Any(c => c is < '!' or > '~'))
        {
            throw new ArgumentException("a routing key is visible ASCII", nameof(routingKey));
        }

        _header = Encoding.ASCII.GetBytes($"{HeaderName}: {routingKey}\r\n");
        _gaveUp = gaveUp;
    }

    private enum Parse
    {
        Head,
        FixedBody,
        ChunkSize,
        ChunkData,
        ChunkDataEnd,
        Trailer,
        PassThrough,
    }

    /// <summary>Whether it has stopped parsing and passes everything through.</summary>
    public bool PassingThrough => _state == Parse.PassThrough;

    /// <inheritdoc />
    public ReadOnlyMemory<byte> Transform(ReadOnlyMemory<byte> input)
    {
        if (_state == Parse.PassThrough && _head.WrittenCount == 0)
        {
            return input;
        }

        var output = new ArrayBufferWriter<byte>(input.Length + _header.Length);
        var span = input.Span;
        var at = 0;
        while (at < span.Length)
        {
            var rest = span[at..];
            at += _state switch
            {
                Parse.PassThrough => Copy(output, rest),
                Parse.Head => ReadHead(output, rest),
                Parse.FixedBody or Parse.ChunkData => ReadBody(output, rest),
                _ => ReadLine(output, rest),
            };
        }

        return output.WrittenMemory;
    }

    /// <inheritdoc />
    public ReadOnlyMemory<byte> Flush()
    {
        var held = _head.WrittenMemory.ToArray();
        _head.Clear();
        return held;
    }

    private static int Copy(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        output.Write(bytes);
        return bytes.Length;
    }

    /// <summary>Holds back bytes until the head is complete, then writes it with the header added when it lacks the key.</summary>
    private int ReadHead(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        if (_head.WrittenCount == 0 && bytes[0] is (byte)'\r' or (byte)'\n')
        {
            // Empty lines between requests are allowed (RFC 9112 §2.2).
            return Copy(output, bytes[..1]);
        }

        // Decide from the first bytes whether this is HTTP/1.x at all: a database or TLS client that speaks first must not
        // wait for a head end that never comes.
        if (!StartsLikeARequest(bytes))
        {
            return PassAll(output, bytes, "the app sent something that is not an HTTP/1.x request");
        }

        var end = -1;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n' && _previous != '\r')
            {
                // Bare LF line ends (RFC 9112 lets a recipient accept them): not parsed here; the request passes as sent.
                return PassAll(output, bytes, "the app's request ends lines with a bare LF");
            }

            _previous = bytes[i];
            _matched = bytes[i] == HeadEnd[_matched] ? _matched + 1 : bytes[i] == '\r' ? 1 : 0;
            if (_matched == HeadEnd.Length)
            {
                end = i + 1;
                break;
            }
        }

        var taken = end < 0 ? bytes.Length : end;
        if (_head.WrittenCount + taken > MaxHead)
        {
            GiveUp($"a request head is larger than {MaxHead / 1024} KiB");
            output.Write(_head.WrittenSpan);
            _head.Clear();
            return 0;
        }

        _head.Write(bytes[..taken]);
        if (end >= 0)
        {
            WriteHead(output);
        }

        return taken;
    }

    /// <summary>Whether the head so far (held plus <paramref name="bytes"/>) can still be an HTTP/1.x request line.</summary>
    private bool StartsLikeARequest(ReadOnlySpan<byte> bytes)
    {
        if (_head.WrittenCount >= MaxLine)
        {
            return true;
        }

        Span<byte> start = stackalloc byte[MaxLine];
        var held = _head.WrittenSpan;
        held.CopyTo(start);
        var count = held.Length + Math.Min(bytes.Length, MaxLine - held.Length);
        bytes[..(count - held.Length)].CopyTo(start[held.Length..]);
        return HttpRequestHead.CouldStart(start[..count]);
    }

    private void WriteHead(ArrayBufferWriter<byte> output)
    {
        var head = _head.WrittenSpan;
        var parsed = HttpRequestHead.Parse(Encoding.Latin1.GetString(head[..^HeadEnd.Length]));
        if (parsed.IsHttp2Preface || parsed.Problem is not null)
        {
            Pass(output, head, parsed.Problem);
            return;
        }

        if (parsed.HasKey)
        {
            output.Write(head);
        }
        else
        {
            output.Write(head[..^Crlf.Length]);
            output.Write(_header);
            output.Write(Crlf);
        }

        _head.Clear();
        _matched = 0;
        _switchesProtocol = parsed.SwitchesProtocol;
        if (parsed.Chunked)
        {
            _state = Parse.ChunkSize;
        }
        else if (parsed.ContentLength is > 0)
        {
            _state = Parse.FixedBody;
            _remaining = parsed.ContentLength.Value;
        }
        else
        {
            EndOfRequest();
        }
    }

    private int ReadBody(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var count = (int)Math.Min(_remaining, bytes.Length);
        output.Write(bytes[..count]);
        _remaining -= count;
        if (_remaining == 0)
        {
            if (_state == Parse.ChunkData)
            {
                _state = Parse.ChunkDataEnd;
            }
            else
            {
                EndOfRequest();
            }
        }

        return count;
    }

    /// <summary>Chunk-size lines, the CRLF after chunk data, trailer lines: written as they come, parsed once complete.</summary>
    private int ReadLine(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var newline = bytes.IndexOf((byte)'\n');
        var taken = newline < 0 ? bytes.Length : newline + 1;
        output.Write(bytes[..taken]);
        if (_lineLength + taken > MaxLine)
        {
            GiveUp("a chunked request body has a line longer than 4 KiB");
            return taken;
        }

        bytes[..taken].CopyTo(_line.AsSpan(_lineLength));
        _lineLength += taken;
        if (newline >= 0)
        {
            var line = Encoding.Latin1.GetString(_line, 0, _lineLength).TrimEnd('\r', '\n');
            _lineLength = 0;
            OnLine(line);
        }

        return taken;
    }

    private void OnLine(string line)
    {
        switch (_state)
        {
            case Parse.ChunkSize:
                var size = line.Split(';')[0].Trim();
                if (!long.TryParse(size, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var length) || size.Length == 0 || length < 0)
                {
                    GiveUp("a chunked request body has an invalid chunk size");
                }
                else if (length == 0)
                {
                    _state = Parse.Trailer;
                }
                else
                {
                    _state = Parse.ChunkData;
                    _remaining = length;
                }

                break;
            case Parse.ChunkDataEnd when line.Length == 0:
                _state = Parse.ChunkSize;
                break;
            case Parse.ChunkDataEnd:
                GiveUp("a chunk of a request body is longer than its size says");
                break;
            case Parse.Trailer when line.Length == 0:
                EndOfRequest();
                break;
            default:
                // A trailer field.
                break;
        }
    }

    private void EndOfRequest()
    {
        _state = _switchesProtocol ? Parse.PassThrough : Parse.Head;
        _head.Clear();
        _matched = 0;
    }

    private void Pass(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> head, string? report)
    {
        output.Write(head);
        _head.Clear();
        _state = Parse.PassThrough;
        if (report is not null)
        {
            GiveUp(report);
        }
    }

    /// <summary>Writes what is held and all of <paramref name="bytes"/>, and passes the rest of the connection through.</summary>
    private int PassAll(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes, string report)
    {
        output.Write(_head.WrittenSpan);
        Pass(output, bytes, report);
        return bytes.Length;
    }

    private void GiveUp(string reason)
    {
        _state = Parse.PassThrough;
        if (!_reported)
        {
            _reported = true;
            _gaveUp?.Invoke($"{reason}; passing the rest of the connection through without adding {HeaderName}");
        }
    }
}
