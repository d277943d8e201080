using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>Two control-plane replicas against one (fake) API server: only the Lease holder writes status.</summary>
public sealed class LeaderElectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task TwoReplicas_OnlyTheLeaseHolderWritesStatus_AndTheOtherTakesOverWhenItStops()
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
        await using var a = await Replica.StartAsync(api, "replica-a");
        await using var b = await Replica.StartAsync(api, "replica-b");

        await WaitAsync(
            () => a.Leadership.IsLeader ^ b.Leadership.IsLeader && api.Get(FakeApiServer.RouteGroups, "shop", "first")?["status"] is not null
                && (string?)api.Get(FakeApiServer.LocalWorkloads, "shop", "laptop")?["status"]?["phase"] == "Pending",
            "one leader, a RouteGroup status and a LocalWorkload phase");
        var (leader, follower) = a.Leadership.IsLeader ? (a, b) : (b, a);
        Assert.Multiple(() =>
        {
            Assert.That(api.StatusPatches.Select(p => p.FieldManager).Distinct(), Is.EqualTo(new[] { leader.Leadership.Identity }), "only the leader writes");
            Assert.That((string?)api.Get(FakeApiServer.Leases, "sandboxctl-system", "xds-control-plane")!["spec"]!["holderIdentity"], Is.EqualTo(leader.Leadership.Identity));
        });

        await leader.DisposeAsync();   // the holder stops renewing
        api.Put(FakeApiServer.RouteGroups, Group("second"));

        await WaitAsync(() => follower.Leadership.IsLeader && api.Get(FakeApiServer.RouteGroups, "shop", "second")?["status"] is not null, "the other replica to take over and write status");
        Assert.That(api.StatusPatches.Last(p => p.Name == "shop/second").FieldManager, Is.EqualTo(follower.Leadership.Identity));

        // Everything the replicas asked of the API server is granted by the chart's RBAC, and every grant was used.
        var granted = CustomResourceDefinitionTests.ChartPermissions().Select(p => p[(p.IndexOf(':', StringComparison.Ordinal) + 1)..]).ToHashSet(StringComparer.Ordinal);
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

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Timeout)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>One control-plane replica: its Kubernetes client, Lease candidate and source.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private readonly global::k8s.Kubernetes _client;
        private readonly KubernetesSource _source;
        private bool _disposed;

        private Replica(global::k8s.Kubernetes client, LeaseLeadership leadership, KubernetesSource source)
        {
            _client = client;
            Leadership = leadership;
            _source = source;
        }

        public LeaseLeadership Leadership { get; }

        public static async Task<Replica> StartAsync(FakeApiServer api, string identity)
        {
            var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
            var leadership = new LeaseLeadership(client, new LeaseLeadershipOptions
            {
                Identity = identity,
                LeaseDuration = TimeSpan.FromSeconds(1),
                RenewDeadline = TimeSpan.FromMilliseconds(800),
                RetryPeriod = TimeSpan.FromMilliseconds(200),
            }, NullLogger<LeaseLeadership>.Instance);
            var source = new KubernetesSource(client, _ => [], TimeProvider.System, NullLogger<KubernetesSource>.Instance,
                new KubernetesSourceOptions { Debounce = TimeSpan.FromMilliseconds(20), StatusInterval = TimeSpan.FromMilliseconds(50) },
                isLeader: () => leadership.IsLeader, fieldManager: identity);
            await leadership.StartAsync(CancellationToken.None);
            await source.StartAsync(CancellationToken.None);
            return new Replica(client, leadership, source);
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _source.StopAsync(CancellationToken.None);
            await Leadership.StopAsync(CancellationToken.None);
            _source.Dispose();
            Leadership.Dispose();
            _client.Dispose();
        }
    }
}
