using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// A virtual host that is not a Service port's: host names of its own and its own routes — a preview host such as
/// <c>cart-8080-abc123.preview.example.com</c> that sends to a Sandbox's fork with the routing key added. Served at the
/// gateway, after the Service ports' hosts.
/// </summary>
/// <param name="Name">The virtual host's name, unique in the gateway's route configuration.</param>
/// <param name="Domains">The host names it answers (no name a Service port's host answers).</param>
/// <param name="Routes">Its routes, in the order they are tried.</param>
/// <param name="Preview">The preview it serves, for the HTTP filters that guard preview hosts (authorization, rate limit); null for none.</param>
internal sealed record PlannedVirtualHost(string Name, IReadOnlyList<string> Domains, IReadOnlyList<PlannedHostRoute> Routes, PlannedPreview? Preview = null);

/// <summary>What the preview filters need of a preview host: whose preview it is and its token bucket.</summary>
/// <param name="Site">The preview (owner, Service, port, access level, host name).</param>
/// <param name="RequestsPerSecond">The rate limit: requests per second, sustained.</param>
/// <param name="Burst">The rate limit: requests at most in a burst.</param>
internal sealed record PlannedPreview(PreviewSite Site, int RequestsPerSecond, int Burst);

/// <summary>One route of a <see cref="PlannedVirtualHost"/>: requests under <paramref name="PathPrefix"/> go to <paramref name="Cluster"/> with <paramref name="RequestHeadersToAdd"/> set.</summary>
/// <param name="Name">The route's name, unique in its host.</param>
/// <param name="PathPrefix">The path prefix it matches (<c>/</c> for every request).</param>
/// <param name="Cluster">The cluster it sends to.</param>
/// <param name="RequestHeadersToAdd">Headers set on the request (replacing a value the request had), e.g. the routing key.</param>
internal sealed record PlannedHostRoute(string Name, string PathPrefix, string Cluster, IReadOnlyDictionary<string, string> RequestHeadersToAdd);

/// <summary>
/// Plans the virtual hosts that are not a Service port's (<see cref="PlannedVirtualHost"/>; previews plug in here). Called
/// on every full translation, so it must be a pure function of the Services, Sandboxes and LocalWorkloads: the fast
/// paths (RouteGroup and EndpointSlice edits) keep the hosts last planned.
/// </summary>
internal interface IVirtualHostPlanner
{
    /// <summary>The hosts <paramref name="inputs"/> call for, in a deterministic order.</summary>
    IReadOnlyList<PlannedVirtualHost> Plan(RoutingInputs inputs);
}

/// <summary>No virtual hosts beyond the Service ports' (the product today).</summary>
internal sealed class NoVirtualHosts : IVirtualHostPlanner
{
    public static NoVirtualHosts Instance { get; } = new();

    public IReadOnlyList<PlannedVirtualHost> Plan(RoutingInputs inputs) => [];
}
