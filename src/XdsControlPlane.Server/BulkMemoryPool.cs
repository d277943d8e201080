using System.Buffers;

namespace XdsControlPlane.Server;

/// <summary>
/// The memory pool of a bulk listener's connections (the tunnel broker's): 64 KiB blocks from the shared array pool
/// instead of Kestrel's 4 KiB pinned blocks. Kestrel's socket transport reads into one pipe block at a time, so with
/// 4 KiB blocks an agent sending at gigabits per second cost the broker a receive call, a pipe flush and often a
/// thread hand-off per 4 KiB; with 64 KiB blocks each read takes what the kernel holds, up to 64 KiB. The HTTP/2 layer
/// uses the connection's pool for its own pipes too, so its copies move larger pieces. Nothing is held while a
/// connection is idle (Kestrel waits for data before it rents a block), so only busy connections hold more memory.
/// </summary>
internal sealed class BulkMemoryPool : MemoryPool<byte>
{
    /// <summary>The size of every block.</summary>
    public const int BlockSize = 64 * 1024;

    /// <inheritdoc />
    public override int MaxBufferSize => BlockSize;

    /// <summary>A block of at least <paramref name="minBufferSize"/> bytes (64 KiB when it asks for less, or for any size).</summary>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        return new Block(ArrayPool<byte>.Shared.Rent(BlockSize));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        // The blocks belong to the shared array pool: each goes back when its owner is disposed.
    }

    /// <summary>One rented array, returned to the shared pool once (a second dispose is ignored).</summary>
    private sealed class Block(byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array is { } array ? array.AsMemory(0, BlockSize) : throw new ObjectDisposedException(nameof(BulkMemoryPool));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } array)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}
