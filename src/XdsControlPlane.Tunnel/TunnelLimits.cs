namespace XdsControlPlane.Tunnel;

/// <summary>
/// The bounds of one side of a tunnel stream (the broker's: configuration section <c>Tunnel:Limits</c>). What a side
/// buffers for the peer's bytes is at most <see cref="ReceiveWindow"/> per connection it receives on and
/// <see cref="StreamBufferBudget"/> for all of them, plus <see cref="QueuedDataFrames"/> × <see cref="MaxData"/> of its
/// own bytes waiting for the stream, so a stuck reader costs a bounded amount of memory and stalls only its own connection.
/// </summary>
public sealed record TunnelLimits
{
    /// <summary>The largest window either side may announce (16 MiB).</summary>
    public const int MaxWindow = 16 * 1024 * 1024;

    /// <summary>
    /// Bytes of one connection the peer may send before this side has written them to its socket and granted more
    /// (default 1 MiB; granted back per half window). At 256 KiB a busy connection's sender ran out of window while the
    /// grant was on its way back, so both sides' threads went idle and woke again every few frames: the tunnel
    /// benchmark counted about three times the thread waits per MB (docs/tunnel-benchmark.md). It costs nothing while
    /// the local socket takes what arrives; only a stalled reader's connection holds up to this much.
    /// </summary>
    public int ReceiveWindow { get; init; } = 1024 * 1024;

    /// <summary>
    /// The default <see cref="MaxData"/>: 64 KiB less the framing a Data frame carries on the wire, so one frame — its
    /// payload, the protobuf fields around it (<see cref="DataFrameOverhead"/>) and gRPC's 5-byte message prefix — fills
    /// exactly four 16 KiB HTTP/2 DATA frames (the size HttpClient always sends). A full 64 KiB payload took a fifth
    /// DATA frame of a few bytes, one more trip through HttpClient's single connection writer per 64 KiB.
    /// </summary>
    public const int DefaultMaxData = (4 * Http2FramePayload) - DataFrameOverhead;

    /// <summary>
    /// The most bytes a Data frame adds around its payload: gRPC's message prefix (5), the Frame field's tag and length
    /// (1 + 3), the Data message's connection id (1 + up to 10) and its payload's tag and length (1 + 3), rounded up.
    /// </summary>
    public const int DataFrameOverhead = 32;

    /// <summary>The payload of one HTTP/2 DATA frame at the protocol's default (and HttpClient's only) frame size.</summary>
    private const int Http2FramePayload = 16 * 1024;

    /// <summary>The largest payload of one Data frame this side sends.</summary>
    public int MaxData { get; init; } = DefaultMaxData;

    /// <summary>
    /// Bytes of all the stream's connections together that the peer sent and the local sockets have not taken yet
    /// (default 32 MiB; at least <see cref="ReceiveWindow"/>). Without it the bound would be the window times the
    /// connections (1 GiB at the defaults), reached by a peer that fills the window of many connections whose readers
    /// do not read. Bytes a socket takes at once never count; a connection whose bytes the socket does not take while
    /// the budget is spent is ended with <c>CloseReason LIMIT</c> (its app's socket is reset), and what it held is freed.
    /// Connections whose readers keep up are not touched.
    /// </summary>
    public long StreamBufferBudget { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// How many lanes (streams besides the first, protocol version 2) one agent session may have for bulk traffic
    /// (default 3; 0 turns lanes off). The broker offers this many in Welcome; the agent opens at most its own value.
    /// New connections are spread over the first stream and the lanes in turn, so busy connections do not all share
    /// one HTTP/2 stream's window, reader and writer. Each lane has its own <see cref="QueuedDataFrames"/>.
    /// </summary>
    public int MaxLanes { get; init; } = 3;

    /// <summary>How many connections may be open on the stream at once.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>How many Data frames may wait for the stream before the connections producing them wait too.</summary>
    public int QueuedDataFrames { get; init; } = 64;

    /// <summary>How long a dial (of a local port, of an in-cluster Service) may take.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many frames breaking the protocol (for connections never opened, Opens with ids the peer may not use) a stream
    /// may carry before it is ended; each is answered with a Close until then.
    /// </summary>
    public int MaxProtocolErrors { get; init; } = 1000;

    /// <summary>Refused frames are logged at most once per this interval (the first at once, then a count).</summary>
    public TimeSpan RefusedFrameLogInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The problems with these limits; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (ReceiveWindow is < 1024 or > MaxWindow)
        {
            yield return $"ReceiveWindow must be between 1024 and {MaxWindow} bytes, got {ReceiveWindow}.";
        }

        if (MaxData is < 1024 or > 1024 * 1024)
        {
            yield return $"MaxData must be between 1024 and 1048576 bytes, got {MaxData}.";
        }

        if (StreamBufferBudget < ReceiveWindow || StreamBufferBudget > 64L * 1024 * 1024 * 1024)
        {
            yield return $"StreamBufferBudget must be between ReceiveWindow ({ReceiveWindow}) and 68719476736 bytes (64 GiB), got {StreamBufferBudget}.";
        }

        if (MaxLanes is < 0 or > 16)
        {
            yield return $"MaxLanes must be between 0 and 16, got {MaxLanes}.";
        }

        if (MaxConnections is < 1 or > 65536)
        {
            yield return $"MaxConnections must be between 1 and 65536, got {MaxConnections}.";
        }

        if (QueuedDataFrames is < 1 or > 4096)
        {
            yield return $"QueuedDataFrames must be between 1 and 4096, got {QueuedDataFrames}.";
        }

        if (MaxProtocolErrors is < 0 or > 1_000_000)
        {
            yield return $"MaxProtocolErrors must be between 0 and 1000000, got {MaxProtocolErrors}.";
        }

        if (RefusedFrameLogInterval < TimeSpan.Zero)
        {
            yield return $"RefusedFrameLogInterval must not be negative, got {RefusedFrameLogInterval}.";
        }

        if (DialTimeout <= TimeSpan.Zero)
        {
            yield return $"DialTimeout must be positive, got {DialTimeout}.";
        }
    }
}
