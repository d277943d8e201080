using System.Net.Sockets;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The stream of an agent's socket to the broker that tells its <see cref="BurstCork"/> how many bytes each send handed
/// the socket, so the cork comes off right after a burst's last send. Owns the socket.
/// </summary>
internal sealed class CorkedSocketStream(Socket socket, BurstCork cork) : NetworkStream(socket, ownsSocket: true)
{
    /// <summary>Bytes the socket took since it connected (guarded by the cork's lock).</summary>
    public long Sent { get; set; }

    /// <summary>The socket (the cork sets its options).</summary>
    public Socket Transport => Socket;

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await base.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        cork.OnSent(this, buffer.Length);
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        base.Write(buffer);
        cork.OnSent(this, buffer.Length);
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc />
    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), callback, state);

    /// <inheritdoc />
    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);
}
