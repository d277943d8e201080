using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace XdsControlPlane.Server;

/// <summary>
/// The host's memory pool factory: Kestrel's own (<paramref name="inner"/>), except while <see cref="BulkListenerFactory"/>
/// binds a bulk listener, which gets a <see cref="BulkMemoryPool"/>.
/// </summary>
internal sealed class BulkMemoryPoolFactory(IMemoryPoolFactory<byte> inner) : IMemoryPoolFactory<byte>
{
    /// <summary>True inside the bind of a <see cref="BulkEndPoint"/>.</summary>
    internal static readonly AsyncLocal<bool> Binding = new();

    private int _bulkPools;
    private int _otherPools;

    /// <summary>Pools made for bulk listeners so far.</summary>
    public int BulkPoolsCreated => Volatile.Read(ref _bulkPools);

    /// <summary>Pools made by Kestrel's own factory so far (every other listener).</summary>
    public int OtherPoolsCreated => Volatile.Read(ref _otherPools);

    /// <inheritdoc />
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        if (!Binding.Value)
        {
            Interlocked.Increment(ref _otherPools);
            return inner.Create(options);
        }

        Interlocked.Increment(ref _bulkPools);
        return new BulkMemoryPool();
    }
}
