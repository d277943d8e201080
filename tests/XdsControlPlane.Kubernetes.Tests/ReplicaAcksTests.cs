using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>Replicas share their data planes' ACK state through Leases, so Programmed counts every replica's clients.</summary>
public sealed class ReplicaAcksTests
{
    [Test]
    public async Task AllAcked_NeedsEveryLiveReplicasClientsOnTheSameVersion_AndForgetsReplicasThatStopped()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        var a = new Dictionary<string, GroupAckState> { ["gateway"] = new("v1", true), ["sidecar"] = new("s1", true) };
        var b = new Dictionary<string, GroupAckState> { ["gateway"] = new("v1", false), ["sidecar"] = new("s1", true) };
        var options = new ReplicaAcksOptions { Interval = TimeSpan.FromMilliseconds(50), Freshness = TimeSpan.FromSeconds(2), Expiry = TimeSpan.FromSeconds(3) };
        using var replicaA = new ReplicaAcks(client, options with { Identity = "xds-0" }, () => Volatile.Read(ref a), TimeProvider.System, NullLogger<ReplicaAcks>.Instance);
        using var replicaB = new ReplicaAcks(client, options with { Identity = "xds-1" }, () => Volatile.Read(ref b), TimeProvider.System, NullLogger<ReplicaAcks>.Instance);
        await replicaA.StartAsync(CancellationToken.None);
        await replicaB.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => api.List(FakeApiServer.Leases, "sandboxctl-system").Length == 2, "one Lease per replica");
        // A's own clients have ACKed, so only reading B's Lease can make this false.
        await Eventually.WaitAsync(() => !replicaA.AllAcked(), "a gateway connected to the other replica, not ACKed yet, to count");

        Volatile.Write(ref b, new Dictionary<string, GroupAckState> { ["gateway"] = new("v1", true), ["sidecar"] = new("s1", true) });
        await Eventually.WaitAsync(replicaA.AllAcked, "the other replica's clients to have ACKed too");

        Volatile.Write(ref b, new Dictionary<string, GroupAckState> { ["gateway"] = new("v2", true), ["sidecar"] = new("s1", true) });
        await Eventually.WaitAsync(() => !replicaA.AllAcked(), "a different version on the other replica to count as not ACKed");

        await replicaB.StopAsync(CancellationToken.None);   // B stops renewing: after Freshness it no longer counts
        await Eventually.WaitAsync(replicaA.AllAcked, "the stopped replica to be left out");
        await Eventually.WaitAsync(() => api.Get(FakeApiServer.Leases, "sandboxctl-system", replicaB.LeaseName) is null, "the stopped replica's Lease to be deleted once expired");
        await replicaA.StopAsync(CancellationToken.None);

        var lease = api.Get(FakeApiServer.Leases, "sandboxctl-system", replicaA.LeaseName)!;
        Assert.Multiple(() =>
        {
            Assert.That((string?)lease["spec"]!["holderIdentity"], Is.EqualTo("xds-0"));
            Assert.That((string?)lease["metadata"]!["labels"]![ReplicaAcks.Label], Is.EqualTo("true"));
            Assert.That((string?)lease["metadata"]!["annotations"]!["sandboxctl.io/acks"], Does.Contain("\"gateway\":{\"version\":\"v1\",\"acked\":true}"));
        });
    }

    [Test]
    public async Task LocalChanged_WritesTheLeaseAndTellsTheStatusWriterAtOnce_WithoutWaitingForTheResync()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        var local = new Dictionary<string, GroupAckState> { ["gateway"] = new("v1", false) };
        var rounds = 0;
        var options = new ReplicaAcksOptions { Identity = "xds-0", Interval = Timeout.InfiniteTimeSpan, Freshness = TimeSpan.FromHours(1), Expiry = TimeSpan.FromHours(2) };
        using var replica = new ReplicaAcks(client, options, () => Volatile.Read(ref local), TimeProvider.System, NullLogger<ReplicaAcks>.Instance, changed: () => Interlocked.Increment(ref rounds));
        await replica.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => Annotation() is { } state && state.Contains("\"acked\":false", StringComparison.Ordinal), "the first round's Lease");
        await Eventually.WaitAsync(() => Volatile.Read(ref rounds) == 1, "the status writer to be told after the first round");

        Volatile.Write(ref local, new Dictionary<string, GroupAckState> { ["gateway"] = new("v1", true) });
        replica.LocalChanged();

        await Eventually.WaitAsync(() => Annotation()?.Contains("\"acked\":true", StringComparison.Ordinal) == true, "the ACK to be written on the signal (the resync is 20 minutes)");
        await Eventually.WaitAsync(() => Volatile.Read(ref rounds) >= 2, "the status writer to be told again");
        await replica.StopAsync(CancellationToken.None);

        string? Annotation() => (string?)api.Get(FakeApiServer.Leases, "sandboxctl-system", replica.LeaseName)?["metadata"]?["annotations"]?["sandboxctl.io/acks"];
    }
}
