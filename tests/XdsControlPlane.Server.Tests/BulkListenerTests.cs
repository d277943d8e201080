using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The tunnel listener reads in 64 KiB blocks (<see cref="BulkMemoryPool"/>), every other listener keeps Kestrel's pool.
/// The tunnel tests through the real host (<c>LocalConnectTests</c>, 1 GiB checked byte by byte) carry their data
/// through these blocks.
/// </summary>
public sealed class BulkListenerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task Start_TheTunnelListenerGetsBulkPools_TheOtherListenersKestrels()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await new InProcessServer().WithLog(_log).StartAsync(cancel.Token);

        var pools = host.Services.GetRequiredService<IMemoryPoolFactory<byte>>();

        Assert.That(pools, Is.InstanceOf<BulkMemoryPoolFactory>());
        var bulk = (BulkMemoryPoolFactory)pools;
        Assert.Multiple(() =>
        {
            Assert.That(bulk.BulkPoolsCreated, Is.Positive, "the tunnel listener's transport made its pools as bulk pools");
            Assert.That(bulk.OtherPoolsCreated, Is.Positive, "the xDS and admin listeners kept Kestrel's pool");
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public void Rent_AnySizeUpTo64KiB_GivesA64KiBBlock_ThatGoesBackOnce()
    {
        using var pool = new BulkMemoryPool();
        var small = pool.Rent(1);
        var any = pool.Rent();
        var full = pool.Rent(BulkMemoryPool.BlockSize);

        Assert.Multiple(() =>
        {
            Assert.That(pool.MaxBufferSize, Is.EqualTo(64 * 1024));
            Assert.That(new[] { small.Memory.Length, any.Memory.Length, full.Memory.Length }, Is.All.EqualTo(64 * 1024));
            Assert.That(() => pool.Rent(BulkMemoryPool.BlockSize + 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        });

        small.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(small.Dispose, Throws.Nothing, "a second dispose does not return the array twice");
            Assert.That(() => small.Memory, Throws.InstanceOf<ObjectDisposedException>());
        });
        any.Dispose();
        full.Dispose();
    }
}
