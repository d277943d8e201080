using System.Diagnostics;
using System.Net;
using XdsControlPlane.Testing;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// Many Envoy-shaped ADS clients (<see cref="ReconnectingAdsClient"/>), each on its own HTTP/2 connection, nine in ten
/// sidecars and one in ten gateways, spread over loopback source addresses 127.0.0.2 and up with at most
/// <see cref="PerPeer"/> each: pods connect from their own addresses, and the server's per-peer connection limit
/// (<c>Connections:MaxPerPeer</c>, 1,000) is meant for one peer, not a mesh.
/// </summary>
internal sealed class ClientFleet : IAsyncDisposable
{
    /// <summary>Connections from one source address.</summary>
    public const int PerPeer = 500;

    private ClientFleet(List<ReconnectingAdsClient> clients) => Clients = clients;

    public IReadOnlyList<ReconnectingAdsClient> Clients { get; }

    /// <summary>The source addresses used.</summary>
    public int Peers => (Clients.Count + PerPeer - 1) / PerPeer;

    /// <summary>Creates <paramref name="count"/> clients of the server on <paramref name="port"/>; <paramref name="nack"/> makes each reject every response.</summary>
    public static ClientFleet Create(int count, int port, bool nack = false, string prefix = "client") =>
        new([.. Enumerable.Range(0, count).Select(i =>
        {
            var client = ReconnectingAdsClient.Connect($"{prefix}-{i}", i % 10 == 9 ? "gateway" : "sidecar", port, IPAddress.Parse($"127.0.{2 + (i / PerPeer / 250)}.{2 + (i / PerPeer % 250)}"));
            client.NackEverything = nack;
            client.ReconnectDelay = TimeSpan.FromMilliseconds(500); // Envoy's first retry delay (grpc_stream.h)
            return client;
        })]);

    /// <summary>Opens every stream at once.</summary>
    public void StartAll()
    {
        foreach (var client in Clients)
        {
            client.Start();
        }
    }

    /// <summary>Waits until every client's stream <paramref name="stream"/> (or a later one) is in sync; the time of the last, or null after <paramref name="timeout"/>.</summary>
    public async Task<long?> WaitSyncedAsync(int stream, TimeSpan timeout, TextWriter progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        while (true)
        {
            var behind = Clients.Count(c => c.SyncedStream < stream);
            if (behind == 0)
            {
                return Clients.Max(c => c.SyncedAt);
            }

            if (clock.Elapsed > timeout)
            {
                progress.WriteLine($"  {behind} clients not in sync after {timeout.TotalSeconds:0} s; one said: {Clients.First(c => c.SyncedStream < stream).LastFailure}");
                return null;
            }

            if (clock.Elapsed - reported > TimeSpan.FromSeconds(10))
            {
                reported = clock.Elapsed;
                progress.WriteLine($"  {Clients.Count - behind}/{Clients.Count} in sync after {clock.Elapsed.TotalSeconds:0} s");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var chunk in Clients.Chunk(500))
        {
            await Task.WhenAll(chunk.Select(c => c.DisposeAsync().AsTask()));
        }
    }
}
