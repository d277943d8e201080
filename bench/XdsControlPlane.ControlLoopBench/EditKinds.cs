using System.Globalization;
using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace XdsControlPlane.ControlLoopBench;

/// <summary>
/// One kind of edit the benchmark applies: what it changes and what the clients should see. <see cref="Expect"/> is
/// the xDS type whose response must carry the returned marker (at the gateway), or null when the edit changes nothing
/// translated and no push is expected at all.
/// </summary>
internal sealed record EditKind(string Name, string? Expect, Func<EditContext, int, Task<string>> Apply)
{
    /// <summary>The edit kinds, in the order they run.</summary>
    public static IReadOnlyList<EditKind> All { get; } =
    [
        new("EndpointSlice address", "EDS", EndpointSliceAsync),
        new("RouteGroup header", "RDS", RouteGroupAsync),
        new("Sandbox routingKey", "RDS", SandboxAsync),
        new("Service label", null, ServiceLabelAsync),
        new("RouteGroup status only", null, RouteGroupStatusAsync),
        new("LocalWorkload heartbeat", null, HeartbeatAsync),
    ];

    /// <summary>
    /// The edits measured from the moment the server is ready, without a warm-up edit: what users meet right after a
    /// restart or a rolling update, while the first status pass still writes every object's status.
    /// </summary>
    public static IReadOnlyList<EditKind> AfterReady { get; } = [.. All.Where(k => k.Name is "EndpointSlice address" or "RouteGroup header").Select(k => k with { Name = k.Name + ", right after ready" })];

    /// <summary>Every kind the report lists: those right after ready, then the settled ones.</summary>
    public static IReadOnlyList<EditKind> Reported { get; } = [.. AfterReady, .. All];

    /// <summary>The heartbeat, which the churn sends every 10 s.</summary>
    public bool IsHeartbeat => Name == "LocalWorkload heartbeat";

    private static async Task<string> EndpointSliceAsync(EditContext context, int repeat)
    {
        var service = repeat % Math.Min(Inventory.EditedServices, context.Inventory.Services);
        var slice = context.Inventory.Get(FakeApiServer.EndpointSlices, Inventory.NamespaceOf(service), $"{Inventory.ServiceName(service)}-1");
        var n = context.Next();
        var address = $"10.{I(200 + (n / 65536 % 50))}.{I(n / 256 % 256)}.{I(n % 256)}";
        context.Watch($"{Inventory.ClusterName(service, 8080)}|{address}");
        await context.Target.EditAsync(slice, body => body["endpoints"]![0]!["addresses"] = new JsonArray(address), context.CancellationToken);
        return $"{Inventory.ClusterName(service, 8080)}|{address}";
    }

    private static async Task<string> RouteGroupAsync(EditContext context, int repeat)
    {
        var index = repeat % Math.Min(Inventory.EditedServices, context.Inventory.RouteGroups);
        var group = context.Inventory.Get(FakeApiServer.RouteGroups, Inventory.NamespaceOf(index % context.Inventory.Services), Inventory.RouteGroupName(index));
        var value = $"user-{I(index, "00000")}-e{I(context.Next(), "000000")}";
        context.Watch(value);
        await context.Target.EditAsync(group, body => body["spec"]!["routes"]![0]!["match"]!["headers"]![0]!["exact"] = value, context.CancellationToken);
        return value;
    }

    private static async Task<string> SandboxAsync(EditContext context, int repeat)
    {
        var j = repeat % context.Inventory.Sandboxes;
        var sandbox = context.Inventory.Get(FakeApiServer.Sandboxes, Inventory.NamespaceOf(j), Inventory.SandboxName(j));
        var key = $"{Inventory.SandboxName(j)}-k{I(context.Next(), "000000")}";
        context.Watch(key);
        await context.Target.EditAsync(sandbox, body => body["spec"]!["routingKey"] = key, context.CancellationToken);
        return key;
    }

    private static async Task<string> ServiceLabelAsync(EditContext context, int repeat)
    {
        var service = repeat % Math.Min(Inventory.EditedServices, context.Inventory.Services);
        var item = context.Inventory.Get(FakeApiServer.Services, Inventory.NamespaceOf(service), Inventory.ServiceName(service));
        var revision = $"r{I(context.Next(), "000000")}";
        context.Watch(revision);
        await context.Target.EditAsync(item, body => body["metadata"]!["labels"]!["bench.sandboxctl.io/revision"] = revision, context.CancellationToken);
        return revision;
    }

    // In a cluster: the status as it stands written again (an event that changes nothing, like a status write of our own).
    // In a file: a status block whose message changes (status is ignored on input).
    private static async Task<string> RouteGroupStatusAsync(EditContext context, int repeat)
    {
        var index = repeat % Math.Min(Inventory.EditedServices, context.Inventory.RouteGroups);
        var group = context.Inventory.Get(FakeApiServer.RouteGroups, Inventory.NamespaceOf(index % context.Inventory.Services), Inventory.RouteGroupName(index));
        var n = context.Next();
        context.Watch($"bench status write {I(n)}");
        await context.Target.EditStatusAsync(group, current => current is not null && context.Target is FakeClusterTarget ? current : new JsonObject
        {
            ["observedGeneration"] = 1,
            ["conditions"] = new JsonArray(new JsonObject
            {
                ["type"] = "Accepted",
                ["status"] = "True",
                ["reason"] = "Valid",
                ["message"] = $"bench status write {I(n)}",
                ["lastTransitionTime"] = Now(),
            }),
        }, context.CancellationToken);
        return $"bench status write {I(n)}";
    }

    private static async Task<string> HeartbeatAsync(EditContext context, int repeat)
    {
        var workload = context.Inventory.Get(FakeApiServer.LocalWorkloads, Inventory.NamespaceOf(context.Inventory.LocalWorkloadService), Inventory.LocalWorkloadName);
        var heartbeat = Now();
        context.Next();
        context.Watch(heartbeat);
        await context.Target.EditStatusAsync(workload, current => new JsonObject
        {
            ["phase"] = "Connected",
            ["routingKey"] = "laptop-key",
            ["observedGeneration"] = 1,
            ["tunnel"] = new JsonObject
            {
                ["connectedAt"] = current?["tunnel"]?["connectedAt"]?.DeepClone() ?? heartbeat,
                ["lastHeartbeat"] = heartbeat,
            },
        }, context.CancellationToken);
        return heartbeat;
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static string I(int value, string format = "0") => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>What an edit works on: the inventory, where it lives, and a counter that makes every edit's values unique.</summary>
internal sealed class EditContext(Inventory inventory, IInventoryTarget target, CancellationToken cancellationToken)
{
    private int _counter;

    public Inventory Inventory { get; } = inventory;

    public IInventoryTarget Target { get; } = target;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Called by each edit with its marker right before it applies the change: the moment of the event.</summary>
    public Action<string> Watch { get; set; } = _ => { };

    public int Next() => Interlocked.Increment(ref _counter);
}
