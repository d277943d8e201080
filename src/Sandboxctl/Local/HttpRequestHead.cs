using System.Globalization;
using System.Text;

namespace Sandboxctl.Local;

/// <summary>
/// What <see cref="RoutingKeyInjector"/> needs to know of one HTTP/1.x request head: whether it carries the routing key
/// (<c>x-routing-key</c>, or <c>routing-key</c> in <c>baggage</c>), how its body is framed, and whether the connection
/// switches protocol after it (Upgrade, CONNECT) — or why it cannot be parsed, or that it is the HTTP/2 preface.
/// </summary>
internal sealed record HttpRequestHead
{
    /// <summary>The request line of HTTP/2 with prior knowledge (gRPC).</summary>
    public const string Http2Preface = "PRI * HTTP/2.0";

    /// <summary>The longest request line looked at by <see cref="CouldStart"/>.</summary>
    public const int MaxLine = 4096;

    private HttpRequestHead()
    {
    }

    /// <summary>The head is the HTTP/2 preface: the connection is passed through untouched.</summary>
    public bool IsHttp2Preface { get; private init; }

    /// <summary>Why the head is not parsed (the rest of the connection is passed through); null when it was.</summary>
    public string? Problem { get; private init; }

    /// <summary>Whether the request carries the routing key already.</summary>
    public bool HasKey { get; private init; }

    /// <summary>Whether the body is chunked.</summary>
    public bool Chunked { get; private init; }

    /// <summary>The body's Content-Length, if given.</summary>
    public long? ContentLength { get; private init; }

    /// <summary>Whether the connection switches protocol after this request (Upgrade, CONNECT).</summary>
    public bool SwitchesProtocol { get; private init; }

    /// <summary>
    /// Whether <paramref name="line"/>, the first bytes of a head, can still be an HTTP/1.x request line: a method of
    /// 1-20 upper-case letters, a space, then (once the line is complete) a target and <c>HTTP/1.</c>, or the HTTP/2 preface.
    /// </summary>
    public static bool CouldStart(ReadOnlySpan<byte> line)
    {
        var space = line.IndexOf((byte)' ');
        var method = space < 0 ? line : line[..space];
        foreach (var b in method.Length > 20 ? method[..21] : method)
        {
            if (b is < (byte)'A' or > (byte)'Z')
            {
                return false;
            }
        }

        if (method.Length > 20)
        {
            return false;
        }

        var lineEnd = line.IndexOf((byte)'\r');
        if (space < 0 || lineEnd < 0)
        {
            return true;
        }

        var requestLine = Encoding.Latin1.GetString(line[..lineEnd]);
        var parts = requestLine.Split(' ');
        return requestLine == Http2Preface || (parts.Length == 3 && parts[1].Length > 0 && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal));
    }

    /// <summary>Parses a complete head (its lines without the final empty line).</summary>
    public static HttpRequestHead Parse(string head)
    {
        ArgumentNullException.ThrowIfNull(head);
        var lines = head.Split("\r\n");
        var request = lines[0].Split(' ');
        if (lines[0] == Http2Preface)
        {
            return new HttpRequestHead { IsHttp2Preface = true };
        }

        if (request.Length != 3 || request[0].Length == 0 || !request[0].All(char.IsAsciiLetterUpper) || !request[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return Unparsed("the app sent something that is not an HTTP/1.x request");
        }

        var hasKey = false;
        var chunked = false;
        long? length = null;
        var upgrade = request[0] == "CONNECT";
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line[0] is ' ' or '\t')
            {
                return Unparsed("a request has a header line it cannot parse");
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (name.Equals(RoutingKeyInjector.HeaderName, StringComparison.OrdinalIgnoreCase))
            {
                hasKey = true;
            }
            else if (name.Equals("baggage", StringComparison.OrdinalIgnoreCase))
            {
                hasKey |= value.Split(',').Any(m => m.Split(['=', ';'])[0].Trim() == "routing-key");
            }
            else if (name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Split(',')[^1].Trim().Equals("chunked", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals("content-length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || (length is { } earlier && earlier != parsed))
                {
                    return Unparsed("a request has an invalid Content-Length");
                }

                length = parsed;
            }
            else if (name.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade = true;
            }
        }

        return new HttpRequestHead { HasKey = hasKey, Chunked = chunked, ContentLength = length, SwitchesProtocol = upgrade };
    }

    private static HttpRequestHead Unparsed(string problem) => new() { Problem = problem };
}
