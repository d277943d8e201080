using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// Not a test: how long the sources' own work takes at 10,000 RouteGroups and 1,000 Services (run by hand with
/// <c>--filter Category=Measurement</c>; it prints, it asserts nothing about time).
/// </summary>
[Explicit("a measurement, run by hand")]
[Category("Measurement")]
public sealed class ScaleMeasurement
{
    private const int Services = 1_000;
    private const int RouteGroups = 10_000;
    private const int Rounds = 10;

    [Test]
    public void LastGoodManifestSet_OneChangedFileAmongAll()
    {
        var files = new List<ManifestFile>();
        for (var i = 0; i < Services; i++)
        {
            files.Add(Read($"svc-{i}", FakeApiServer.ServiceObject("shop", $"svc-{i}")));
        }

        for (var i = 0; i < RouteGroups; i++)
        {
            files.Add(Read($"rg-{i}", Group($"rg-{i}", $"svc-{i % Services}", $"key-{i}")));
        }

        var set = new LastGoodManifestSet();
        var clock = Stopwatch.StartNew();
        set.Apply(files);
        var first = clock.Elapsed;
        var routeGroupEdit = Median(i => files[Services + 5] = Read("rg-5", Group("rg-5", "svc-5", $"edited-{i}")), () => set.Apply(files));
        var serviceEdit = Median(i => files[5] = Read("svc-5", FakeApiServer.ServiceObject("shop", "svc-5", 8080 + i)), () => set.Apply(files));
        var sameContent = Median(i => files[Services + 6] = Read("rg-6", Group("rg-6", "svc-6", "key-6")), () => set.Apply(files));
        var objects = files.SelectMany(f => f.Contents.Objects).Select(o => o.Resource).ToArray();
        var inputs = Median(_ => { }, () => _ = new RoutingInputs(objects));
        var inForce = set.Apply(files).InForce;
        var fromInForce = Median(_ => { }, () => _ = new RoutingInputs(inForce.Values.Select(o => o.Resource)));
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LastGoodManifestSet.Apply at {RouteGroups} RouteGroups, {Services} Services: first {first.TotalMilliseconds:F0} ms; one RouteGroup edited {routeGroupEdit:F1} ms; one Service edited {serviceEdit:F1} ms; one RouteGroup rewritten unchanged {sameContent:F1} ms; building RoutingInputs of every object alone {inputs:F1} ms, from the objects in force {fromInForce:F1} ms (medians of {Rounds})"));
    }

    [Test]
    public async Task KubernetesSource_EditsAndStatusOnlyUpdates()
    {
        await using var api = await FakeApiServer.StartAsync();
        for (var i = 0; i < Services; i++)
        {
            api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", $"svc-{i}"));
        }

        for (var i = 0; i < RouteGroups; i++)
        {
            api.Put(FakeApiServer.RouteGroups, Group($"rg-{i}", $"svc-{i % Services}", $"key-{i}"));
        }

        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        var publications = new List<(long At, RoutingInputs Inputs)>();
        using var source = new KubernetesRoutingHarness(client, inputs =>
        {
            lock (publications)
            {
                publications.Add((Stopwatch.GetTimestamp(), inputs));
            }

            return [];
        }, TimeProvider.System, NullLogger<KubernetesSource>.Instance, new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(1) });
        var started = Stopwatch.GetTimestamp();
        await source.StartAsync(CancellationToken.None);
        await WaitAsync(() => source.HasSynced, TimeSpan.FromMinutes(2));
        var synced = Stopwatch.GetElapsedTime(started);
        await WaitAsync(() => api.StatusPatches.Count >= RouteGroups && !source.HasPendingStatus && Status("rg-9999") is not null, TimeSpan.FromMinutes(5));
        var firstStatus = Stopwatch.GetElapsedTime(started);
        await Task.Delay(TimeSpan.FromSeconds(2));   // let the first pass's own watch events drain

        var toPublish = new List<double>();
        var toStatus = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var name = $"rg-{(round * 997) % RouteGroups}";
            var key = $"edited-{round}";
            var before = Stopwatch.GetTimestamp();
            api.Put(FakeApiServer.RouteGroups, Group(name, $"svc-{(round * 997) % RouteGroups % Services}", key));
            await WaitAsync(() => Last(publications).RouteGroups.FirstOrDefault(g => g.Metadata.Name == name)?.Spec.RoutingKey == key, TimeSpan.FromSeconds(60));
            toPublish.Add(Stopwatch.GetElapsedTime(before).TotalMilliseconds);
            await WaitAsync(() => Programmed(name, key), TimeSpan.FromSeconds(60));
            toStatus.Add(Stopwatch.GetElapsedTime(before).TotalMilliseconds);
        }

        // Status-only updates by someone else: how many publications they cause, and how long until our conditions are back.
        int count;
        lock (publications)
        {
            count = publications.Count;
        }

        var restore = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var name = $"rg-{round * 13}";
            var before = Stopwatch.GetTimestamp();
            api.PatchStatus(FakeApiServer.RouteGroups, "shop", name, new JsonObject { ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Accepted", ["status"] = "False", ["reason"] = "Tampered" }) });
            await WaitAsync(() => Status(name)?["conditions"]?.AsArray().Count == 3, TimeSpan.FromSeconds(60));
            restore.Add(Stopwatch.GetElapsedTime(before).TotalMilliseconds);
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        int statusOnlyPublications;
        lock (publications)
        {
            statusOnlyPublications = publications.Count - count;
        }

        await source.StopAsync(CancellationToken.None);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"KubernetesSource at {RouteGroups} RouteGroups, {Services} Services (debounce 1 ms, publish is a no-op): synced and first publication {synced.TotalSeconds:F1} s, first status pass done {firstStatus.TotalSeconds:F1} s"));
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  RouteGroup edit -> publish: median {Median(toPublish):F0} ms, max {toPublish.Max():F0} ms; -> its status written: median {Median(toStatus):F0} ms, max {toStatus.Max():F0} ms"));
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Rounds} status-only updates by someone else: {statusOnlyPublications} publications; conditions restored after median {Median(restore):F0} ms, max {restore.Max():F0} ms"));

        JsonNode? Status(string name) => api.Get(FakeApiServer.RouteGroups, "shop", name)?["status"];
        bool Programmed(string name, string key) => api.Get(FakeApiServer.RouteGroups, "shop", name) is { } obj
            && (string?)obj["spec"]?["routingKey"] == key
            && obj["status"]?["observedGeneration"]?.GetValue<long>() == obj["metadata"]?["generation"]?.GetValue<long>();
    }

    private static RoutingInputs Last(List<(long At, RoutingInputs Inputs)> publications)
    {
        lock (publications)
        {
            return publications[^1].Inputs;
        }
    }

    private static double Median(Action<int> prepare, Action round)
    {
        var times = new List<double>();
        for (var i = 0; i < Rounds; i++)
        {
            prepare(i);
            var clock = Stopwatch.StartNew();
            round();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return Median(times);
    }

    private static double Median(List<double> times) => times.Order().ElementAt(times.Count / 2);

    private static async Task WaitAsync(Func<bool> condition, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > within)
            {
                Assert.Fail("timed out");
            }

            await Task.Delay(1);
        }
    }

    private static ManifestFile Read(string name, JsonObject obj) => new(name, ManifestReader.Read(obj.ToJsonString(), name));

    private static JsonObject Group(string name, string service, string key) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "RouteGroup",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routingKey"] = key,
            ["routes"] = new JsonArray(new JsonObject
            {
                ["service"] = service,
                ["to"] = new JsonArray(new JsonObject { ["service"] = service, ["weight"] = 100 }),
            }),
        },
    };
}
