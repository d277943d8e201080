using System.Buffers;
using System.Net.Sockets;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The stream of an agent's socket to the broker. It tells its <see cref="BurstCork"/> how many bytes each send handed
/// the socket, so the cork comes off right after a burst's last send; and it reads the socket in blocks of
/// <see cref="ReadBlock"/> bytes, serving HttpClient's smaller reads from the block. HttpClient reads its HTTP/2
/// connection into a buffer of about one 16 KiB frame, so the broker's bytes (client → laptop) cost the agent a
/// <c>recv</c> — and on loopback a TCP acknowledgement processed at once — per 8 KB (docs/tunnel-benchmark.md, eighth
/// pass). The block is rented when a read finds nothing buffered and returned once it is drained, so an idle
/// connection holds none; a zero-byte read (HttpClient's wait for data) goes to the socket as it is. Owns the socket.
/// </summary>
internal sealed class CorkedSocketStream(Socket socket, BurstCork cork) : NetworkStream(socket, ownsSocket: true)
{
    /// <summary>How much one read asks of the socket when the caller asks for less.</summary>
    internal const int ReadBlock = 64 * 1024;

    private byte[]? _block;
    private int _blockStart;
    private int _blockEnd;
    private long _socketReads;

    /// <summary>Bytes the socket took since it connected (guarded by the cork's lock).</summary>
    public long Sent { get; set; }

    /// <summary>The socket (the cork sets its options).</summary>
    public Socket Transport => Socket;

    /// <summary>Reads handed to the socket that returned bytes (zero-byte waits not counted).</summary>
    public long SocketReads => Interlocked.Read(ref _socketReads);

    /// <inheritdoc />
    public override bool DataAvailable => _blockEnd > _blockStart || base.DataAvailable;

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_blockEnd > _blockStart)
        {
            return TakeBuffered(buffer.Span);
        }

        if (buffer.IsEmpty || buffer.Length >= ReadBlock)
        {
            var direct = await base.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            CountRead(direct);
            return direct;
        }

        var block = ArrayPool<byte>.Shared.Rent(ReadBlock);
        int read;
        try
        {
            read = await base.ReadAsync(block.AsMemory(0, ReadBlock), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(block);
            throw;
        }

        return Buffered(block, read, buffer.Span);
    }

    /// <inheritdoc />
    /// <remarks>HttpClient reads asynchronously; a synchronous read is served from the block while it holds bytes (so
    /// nothing is read out of order), else straight from the socket.</remarks>
    public override int Read(Span<byte> buffer)
    {
        if (_blockEnd > _blockStart)
        {
            return TakeBuffered(buffer);
        }

        var read = base.Read(buffer);
        CountRead(read);
        return read;
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    /// <inheritdoc />
    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(ReadAsync(buffer, offset, count, CancellationToken.None), callback, state);

    /// <inheritdoc />
    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

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

    private void CountRead(int read)
    {
        if (read > 0)
        {
            Interlocked.Increment(ref _socketReads);
        }
    }

    /// <summary>Keeps the <paramref name="read"/> bytes the socket put in <paramref name="block"/> and serves <paramref name="destination"/> from them.</summary>
    private int Buffered(byte[] block, int read, Span<byte> destination)
    {
        if (read <= 0)
        {
            ArrayPool<byte>.Shared.Return(block);
            return read;
        }

        CountRead(read);
        (_block, _blockStart, _blockEnd) = (block, 0, read);
        return TakeBuffered(destination);
    }

    /// <summary>Copies what is buffered into <paramref name="destination"/>; the block goes back to the pool once drained.</summary>
    private int TakeBuffered(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _blockEnd - _blockStart);
        _block!.AsSpan(_blockStart, count).CopyTo(destination);
        _blockStart += count;
        if (_blockStart == _blockEnd)
        {
            ArrayPool<byte>.Shared.Return(_block!);
            (_block, _blockStart, _blockEnd) = (null, 0, 0);
        }

        return count;
    }
}
