using Prometheus;

namespace XdsControlPlane.Server;

/// <summary>The admin HTTP endpoints, answered only on the admin listener.</summary>
internal static class AdminEndpoints
{
    public static void Map(WebApplication app)
    {
        var admin = app.MapGroup(string.Empty).AddEndpointFilter(async (context, next) =>
            ListenerRole.Of(context.HttpContext) is null or ListenerRole.Admin ? await next(context).ConfigureAwait(false) : Results.NotFound());

        admin.MapGet("/healthz", () => Results.Text("ok\n"));
        admin.MapMetrics("/metrics");
    }
}
