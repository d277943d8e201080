using System.Net.Sockets;
using System.Text;

namespace Sandboxctl.Local.Outbound;

/// <summary>What the first bytes a local app sent to an exposed port say it speaks.</summary>
internal enum FirstBytesKind
{
    /// <summary>Not enough bytes yet to tell.</summary>
    Undecided,

    /// <summary>An HTTP/1.x request line.</summary>
    Http1,

    /// <summary>The HTTP/2 prior-knowledge preface (h2c: what gRPC clients send in plaintext).</summary>
    Http2,

    /// <summary>Anything else (a database or TLS client, a bare-LF request): carried as raw bytes.</summary>
    Other,
}

/// <summary>
/// Tells HTTP/1.x and h2c from other protocols by the first bytes of a connection, looked at with <c>MSG_PEEK</c> so
/// that nothing is consumed: an HTTP connection goes to the outbound proxy and anything else into the tunnel as the
/// very bytes the app sent. A request line is a method of 1-20 upper-case letters, a space, a target and
/// <c>HTTP/1.</c>, ended by CRLF; the decision is made as soon as the bytes rule HTTP out (often the first byte).
/// </summary>
internal static class FirstBytes
{
    /// <summary>The longest request line looked at; a longer one is taken as HTTP/1.x (the proxy answers 414 if it is too long).</summary>
    public const int MaxLine = 4096;

    private const int MaxMethod = 20;

    private static readonly byte[] Http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>Classifies <paramref name="bytes"/>, the first bytes of a connection.</summary>
    public static FirstBytesKind Classify(ReadOnlySpan<byte> bytes)
    {
        var prefix = Math.Min(bytes.Length, Http2Preface.Length);
        if (prefix > 0 && bytes[..prefix].SequenceEqual(Http2Preface.AsSpan(0, prefix)))
        {
            return prefix == Http2Preface.Length ? FirstBytesKind.Http2 : FirstBytesKind.Undecided;
        }

        var space = bytes.IndexOf((byte)' ');
        var method = space < 0 ? bytes : bytes[..space];
        if (method.Length > MaxMethod || method.ContainsAnyExceptInRange((byte)'A', (byte)'Z') || space == 0)
        {
            return FirstBytesKind.Other;
        }

        var lineFeed = bytes.IndexOf((byte)'\n');
        if (lineFeed < 0)
        {
            return bytes.Length >= MaxLine ? FirstBytesKind.Http1 : FirstBytesKind.Undecided;
        }

        if (lineFeed == 0 || bytes[lineFeed - 1] != '\r')
        {
            // Bare LF line ends: carried untouched, as the app sent them.
            return FirstBytesKind.Other;
        }

        var parts = Encoding.Latin1.GetString(bytes[..(lineFeed - 1)]).Split(' ');
        return parts.Length == 3 && parts[1].Length > 0 && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) ? FirstBytesKind.Http1 : FirstBytesKind.Other;
    }

    /// <summary>
    /// Peeks at what <paramref name="socket"/> has received until <see cref="Classify"/> decides. Returns
    /// <see cref="FirstBytesKind.Undecided"/> when nothing decisive arrived within <paramref name="wait"/> (a server
    /// that speaks first) or the app closed without sending; null <paramref name="wait"/> waits as long as it takes.
    /// </summary>
    public static async Task<FirstBytesKind> PeekAsync(Socket socket, TimeSpan? wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (wait is { } limit)
        {
            deadline.CancelAfter(limit);
        }

        var buffer = new byte[MaxLine];
        var seen = 0;
        var pause = TimeSpan.FromMilliseconds(1);
        try
        {
            while (true)
            {
                var peeked = await socket.ReceiveAsync(buffer, SocketFlags.Peek, deadline.Token).ConfigureAwait(false);
                if (peeked == 0)
                {
                    return FirstBytesKind.Undecided;
                }

                var kind = Classify(buffer.AsSpan(0, peeked));
                if (kind != FirstBytesKind.Undecided)
                {
                    return kind;
                }

                // A peek returns at once while bytes wait, so a request line that arrives in pieces is looked at
                // again after a short pause (rare: apps write their request line in one go).
                if (peeked == seen)
                {
                    await Task.Delay(pause, deadline.Token).ConfigureAwait(false);
                    pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(50).Ticks));
                }

                seen = peeked;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return FirstBytesKind.Undecided;
        }
    }
}
