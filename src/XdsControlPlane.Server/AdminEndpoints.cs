using System.Globalization;
using Prometheus;
using XdsControlPlane.Translation;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>The admin HTTP endpoints.</summary>
internal static class AdminEndpoints
{
    /// <summary>Maps <c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c> and <c>/debug</c> (the snapshot, the admission webhook's CA); the caller restricts them to the admin listener.</summary>
    public static RouteGroupBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup(string.Empty);

        // Health and metrics are open to anyone and do not touch the /debug gate: they stay fast while debug requests run.
        admin.MapGet("/healthz", () => Results.Text("ok\n"));

        // Ready once a snapshot has been published: before that, clients would connect and wait for nothing.
        admin.MapGet("/readyz", (SnapshotCache cache) => cache.Groups.Count > 0
            ? Results.Text("ready\n")
            : Results.Text("not ready: no snapshot published yet\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        admin.MapMetrics("/metrics");

        var debug = admin.MapGroup("/debug").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            switch (http.RequestServices.GetRequiredService<DebugAccess>().Decide(http.Connection.RemoteIpAddress, http.Request.Headers.Authorization))
            {
                case DebugAccessDecision.LoopbackOnly:
                    return Results.Text(
                        "/debug is served to loopback clients only (kubectl port-forward works); start the server with --debug-token or " + ServerConfiguration.DebugTokenVariable + " to let others in with Authorization: Bearer <token>\n",
                        statusCode: StatusCodes.Status403Forbidden);
                case DebugAccessDecision.TokenRequired:
                    http.Response.Headers.WWWAuthenticate = "Bearer realm=\"xds-control-plane /debug\"";
                    return Results.Text("/debug needs Authorization: Bearer <token> (the server's --debug-token) from clients that are not on loopback\n", statusCode: StatusCodes.Status401Unauthorized);
            }

            return await next(context).ConfigureAwait(false);
        }).AddEndpointFilter(async (context, next) =>
        {
            var gate = context.HttpContext.RequestServices.GetRequiredService<DebugRequestGate>();
            using var slot = gate.TryEnter();
            if (slot is null)
            {
                context.HttpContext.Response.Headers.RetryAfter = ((int)DebugRequestGate.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                return Results.Text(
                    string.Create(CultureInfo.InvariantCulture, $"too many /debug requests: at most {gate.Limit} run at once; retry after {DebugRequestGate.RetryAfter.TotalSeconds} s\n"),
                    statusCode: StatusCodes.Status429TooManyRequests);
            }

            return await next(context).ConfigureAwait(false);
        });
        debug.MapGet("/snapshot", WriteSnapshotAsync);
        debug.MapGet("/webhook-ca", (Webhook.WebhookCertificateStore certificates) => certificates.CaPem is { } ca
            ? Results.Text(ca, "application/x-pem-file")
            : Results.Text(
                certificates.Certificate is null
                    ? "the admission webhook has no certificate: it is off (--webhook-port 0) or waits for its Secret\n"
                    : "the admission webhook serves the certificate of --webhook-cert-file: trust the CA that signed it\n",
                statusCode: StatusCodes.Status404NotFound));
        return admin;
    }

    /// <summary>Per node group: snapshot version, publication time and every resource (version and protobuf JSON), streamed.</summary>
    private static async Task WriteSnapshotAsync(HttpContext context, SnapshotCache cache, string? group, bool? resources)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var groups = cache.Groups.Where(g => group is null || g == group)
            .Select(g => cache.GetSnapshot(g) is { } published ? (Group: g, published.Snapshot, PublishedAt: (DateTimeOffset?)published.PublishedAt) : default)
            .Where(g => g.Group is not null)
            .ToArray();
        await SnapshotJson.WriteAsync(context.Response.Body, groups, resources ?? true, context.RequestAborted).ConfigureAwait(false);
    }
}
