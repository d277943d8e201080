namespace XdsControlPlane.Tunnel;

/// <summary>
/// Rewrites the bytes a tunnelled connection reads from its socket before they go to the peer (the agent adds the
/// routing key to HTTP requests this way). One instance per connection, called in order with each chunk read.
/// </summary>
public interface IByteTransform
{
    /// <summary>
    /// The bytes to send for <paramref name="input"/> (may be longer, shorter or empty; held-back bytes come out with
    /// later chunks). The returned memory is sent as it is later: the transform must not reuse it.
    /// </summary>
    ReadOnlyMemory<byte> Transform(ReadOnlyMemory<byte> input);

    /// <summary>The bytes still held back when the socket's reading side ended.</summary>
    ReadOnlyMemory<byte> Flush();
}
