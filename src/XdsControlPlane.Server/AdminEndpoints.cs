using System.Text.Json.Nodes;
using Prometheus;
using XdsControlPlane.Translation;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>The admin HTTP endpoints, answered only on the admin listener.</summary>
internal static class AdminEndpoints
{
    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Map(WebApplication app)
    {
        var admin = app.MapGroup(string.Empty).AddEndpointFilter(async (context, next) =>
            ListenerRole.Of(context.HttpContext) is null or ListenerRole.Admin ? await next(context).ConfigureAwait(false) : Results.NotFound());

        admin.MapGet("/healthz", () => Results.Text("ok\n"));

        // Ready once a snapshot has been published: before that, clients would connect and wait for nothing.
        admin.MapGet("/readyz", (SnapshotCache cache) => cache.Groups.Count > 0
            ? Results.Text("ready\n")
            : Results.Text("not ready: no snapshot published yet\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        admin.MapGet("/debug/snapshot", (SnapshotCache cache, string? group, bool? resources) => Results.Text(
            DebugSnapshot(cache, group, resources ?? true).ToJsonString(JsonOptions) + "\n", "application/json"));
        admin.MapMetrics("/metrics");
    }

    /// <summary>Per node group: snapshot version, publication time and every resource (version and protobuf JSON).</summary>
    private static JsonObject DebugSnapshot(SnapshotCache cache, string? onlyGroup, bool withResources) =>
        SnapshotJson.Document(
            cache.Groups.Where(g => onlyGroup is null || g == onlyGroup)
                .Select(g => cache.GetSnapshot(g) is { } published ? (Group: g, published.Snapshot, PublishedAt: (DateTimeOffset?)published.PublishedAt) : default)
                .Where(g => g.Group is not null),
            withResources);
}
