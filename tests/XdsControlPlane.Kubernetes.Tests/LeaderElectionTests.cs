using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>Two control-plane replicas against one (fake) API server: only the Lease holder writes status.</summary>
public sealed class LeaderElectionTests
{

    /// <summary>
    /// A stop finds no Lease to hand back — deleted while held, or (a busy-core CI run) the replica stopped before its
    /// election loop created one: nothing to release, so no Warning ("Could not release the Lease … NotFound").
    /// </summary>
    [Test]
    public async Task LeaseDeletedWhileHeld_TheStopReleasesNothing_AndWarnsOfNothing()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        var log = new WarningLog();
        var leadership = new LeaseLeadership(client, new LeaseLeadershipOptions
        {
            Identity = "only",
            LeaseDuration = TimeSpan.FromSeconds(15),
            RenewDeadline = TimeSpan.FromSeconds(10),
            RetryPeriod = TimeSpan.FromSeconds(2),
        }, log);
        await leadership.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => leadership.IsLeader, "the replica to hold the Lease");

        api.Delete(FakeApiServer.Leases, "sandboxctl-system", "xds-control-plane");
        await leadership.StopAsync(CancellationToken.None);

        Assert.That(log.Warnings, Is.Empty);
    }

    [Test]
    public async Task TwoReplicas_OnlyTheLeaseHolderWritesStatusAndReconciles_AndTheOtherTakesOverWhenItStops()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart-v2"));
        api.Put(FakeApiServer.RouteGroups, Group("first"));
        api.Put(FakeApiServer.LocalWorkloads, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "laptop", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routingKey"] = "bob", ["service"] = "cart", ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }) },
        });
        api.Put(FakeApiServer.Deployments, FakeApiServer.DeploymentObject("shop", "web", "web:1"));
        api.Put(FakeApiServer.Services, WebService(port: 80));
        api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", "web:2"));
        var expired = Sandbox("expired", "web:3");
        expired["metadata"]!["creationTimestamp"] = "2020-01-01T00:00:00Z";
        expired["spec"]!["ttl"] = "1h";
        api.Put(FakeApiServer.Sandboxes, expired);
        await using var a = await Replica.StartAsync(api, "replica-a");
        await using var b = await Replica.StartAsync(api, "replica-b");

        await Eventually.WaitAsync(
            () => a.Leadership.IsLeader ^ b.Leadership.IsLeader && api.Get(FakeApiServer.RouteGroups, "shop", "first")?["status"] is not null
                && (string?)api.Get(FakeApiServer.LocalWorkloads, "shop", "laptop")?["status"]?["phase"] == "Pending"
                && (string?)api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")?["status"]?["phase"] == "Pending"
                && api.Get(FakeApiServer.Sandboxes, "shop", "expired") is null,
            "one leader, a RouteGroup status, a LocalWorkload phase, a Sandbox forked and an expired one deleted");
        var (leader, follower) = a.Leadership.IsLeader ? (a, b) : (b, a);
        Assert.Multiple(() =>
        {
            Assert.That(api.StatusPatches.Select(p => p.FieldManager).Distinct(), Is.EqualTo(new[] { leader.Leadership.Identity }), "only the leader writes");
            Assert.That((string?)api.Get(FakeApiServer.Leases, "sandboxctl-system", "xds-control-plane")!["spec"]!["holderIdentity"], Is.EqualTo(leader.Leadership.Identity));
        });

        await leader.DisposeAsync();   // the holder stops, handing the Lease back
        Assert.That((string?)api.Get(FakeApiServer.Leases, "sandboxctl-system", "xds-control-plane")!["spec"]!["holderIdentity"], Is.Empty.Or.EqualTo(follower.Leadership.Identity), "released on shutdown");
        api.Put(FakeApiServer.RouteGroups, Group("second"));

        // Within 10 s of a 15 s lease: only a released Lease is taken over this fast.
        await Eventually.WaitAsync(() => follower.Leadership.IsLeader && api.Get(FakeApiServer.RouteGroups, "shop", "second")?["status"] is not null, "the other replica to take over and write status", TimeSpan.FromSeconds(10));
        Assert.That(api.StatusPatches.Last(p => p.Name == "shop/second").FieldManager, Is.EqualTo(follower.Leadership.Identity));

        // The new leader reconciles Sandboxes: a new image and a changed baseline port reach the fork, deletion removes it.
        api.Put(FakeApiServer.Services, WebService(port: 81));
        api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", "web:4"));
        await Eventually.WaitAsync(
            () => (string?)api.Get(FakeApiServer.Deployments, "shop", "web-feature-x")?["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"] == "web:4"
                && (int?)api.Get(FakeApiServer.Services, "shop", "web-feature-x")?["spec"]?["ports"]?[0]?["port"] == 81,
            "the fork to follow the new image and port");
        api.Delete(FakeApiServer.Sandboxes, "shop", "feature-x");
        await Eventually.WaitAsync(() => api.Get(FakeApiServer.Sandboxes, "shop", "feature-x") is null && api.Get(FakeApiServer.Deployments, "shop", "web-feature-x") is null, "the Sandbox and its fork to go");
        Assert.That(api.StatusPatches.Where(p => p.Name == "shop/feature-x").Select(p => p.FieldManager).Distinct(), Is.EqualTo(new[] { leader.Leadership.Identity, follower.Leadership.Identity }));

        // The stopped replica's ACK Lease is cleaned up by the one still running.
        await Eventually.WaitAsync(() => api.Get(FakeApiServer.Leases, "sandboxctl-system", $"xds-acks-{leader.Leadership.Identity}") is null, "the stopped replica's ACK Lease to be deleted");

        // Everything the replicas asked of the API server is granted by the chart's RBAC, and every grant was used.
        // (Reading one LocalWorkload is the tunnel broker's, used when an agent connects: LocalConnectReplicaTests checks it.
        // The preview authorization service's grants — PreviewGrants, its session key's Secret — are not part of these
        // control-loop replicas: Chart/ChartRbacTests checks them against a whole server.)
        string[] notHere = ["sandboxctl.io/localworkloads:get", "sandboxctl.io/previewgrants:list", "sandboxctl.io/previewgrants:watch", "/secrets:create", "/secrets:get"];
        var granted = CustomResourceDefinitionTests.ChartPermissions().Select(p => p[(p.IndexOf(':', StringComparison.Ordinal) + 1)..]).Where(p => !notHere.Contains(p)).ToHashSet(StringComparer.Ordinal);
        var used = api.Permissions();

        Assert.Multiple(() =>
        {
            Assert.That(used, Is.SubsetOf(granted), "a request the chart's RBAC would refuse");
            Assert.That(granted, Is.SubsetOf(used), "a grant the control plane never needed");
        });
    }

    private static JsonObject Group(string name) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "RouteGroup",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routes"] = new JsonArray(new JsonObject { ["service"] = "cart", ["to"] = new JsonArray(new JsonObject { ["service"] = "cart-v2" }) }),
        },
    };

    private static JsonObject WebService(int port)
    {
        var service = FakeApiServer.ServiceObject("shop", "web", port);
        service["spec"]!["selector"] = new JsonObject { ["app"] = "web" };
        return service;
    }

    private static JsonObject Sandbox(string name, string image) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "Sandbox",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["forks"] = new JsonArray(new JsonObject { ["of"] = new JsonObject { ["name"] = "web" }, ["image"] = image }) },
    };


    /// <summary>One control-plane replica: its Kubernetes client, Lease candidate and source.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private readonly global::k8s.Kubernetes _client;
        private readonly KubernetesRoutingHarness _source;
        private readonly SandboxController _controller;
        private readonly ReplicaAcks _acks;
        private bool _disposed;

        private Replica(global::k8s.Kubernetes client, LeaseLeadership leadership, KubernetesRoutingHarness source, SandboxController controller, ReplicaAcks acks)
        {
            _client = client;
            Leadership = leadership;
            _source = source;
            _controller = controller;
            _acks = acks;
        }

        public LeaseLeadership Leadership { get; }

        public static async Task<Replica> StartAsync(FakeApiServer api, string identity)
        {
            var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
            var leadership = new LeaseLeadership(client, new LeaseLeadershipOptions
            {
                Identity = identity,
                // Production's lease and deadline: a slow machine cannot lose the Lease mid-test. The takeover below
                // is quick because a stopping leader hands the Lease back.
                LeaseDuration = TimeSpan.FromSeconds(15),
                RenewDeadline = TimeSpan.FromSeconds(10),
                RetryPeriod = TimeSpan.FromMilliseconds(200),
            }, NullLogger<LeaseLeadership>.Instance);
            var acks = new ReplicaAcks(client, new ReplicaAcksOptions { Identity = identity, Interval = TimeSpan.FromMilliseconds(100), Freshness = TimeSpan.FromSeconds(1), Expiry = TimeSpan.FromSeconds(2) },
                () => new Dictionary<string, GroupAckState> { ["sidecar"] = new("v1", Acked: true) }, TimeProvider.System, NullLogger<ReplicaAcks>.Instance);
            var source = new KubernetesRoutingHarness(client, _ => [], TimeProvider.System, NullLogger<KubernetesSource>.Instance,
                new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(20), StatusInterval = TimeSpan.FromMilliseconds(50) },
                acked: acks.AllAcked, isLeader: () => leadership.IsLeader, fieldManager: identity);
            var controller = new SandboxController(client, TimeProvider.System, NullLogger<SandboxController>.Instance,
                new SandboxControllerOptions { FollowerRetry = TimeSpan.FromMilliseconds(100) }, isLeader: () => leadership.IsLeader, fieldManager: identity);
            await leadership.StartAsync(CancellationToken.None);
            await source.StartAsync(CancellationToken.None);
            await controller.StartAsync(CancellationToken.None);
            await acks.StartAsync(CancellationToken.None);
            return new Replica(client, leadership, source, controller, acks);
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _acks.StopAsync(CancellationToken.None);
            await _controller.StopAsync(CancellationToken.None);
            await _source.StopAsync(CancellationToken.None);
            await Leadership.StopAsync(CancellationToken.None);
            _source.Dispose();
            _controller.Dispose();
            _acks.Dispose();
            Leadership.Dispose();
            _client.Dispose();
        }
    }

    /// <summary>The Warning and Error lines of <see cref="LeaseLeadership"/>.</summary>
    private sealed class WarningLog : Microsoft.Extensions.Logging.ILogger<LeaseLeadership>
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _warnings = new();

        public IReadOnlyCollection<string> Warnings => _warnings;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning)
            {
                _warnings.Enqueue(formatter(state, exception));
            }
        }
    }
}
