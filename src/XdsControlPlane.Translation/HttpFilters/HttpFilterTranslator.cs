using Envoy.Config.Route.V3;
using Google.Protobuf;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;

namespace XdsControlPlane.Translation.HttpFilters;

/// <summary>
/// One HTTP filter of the connection managers: its entry in the filter chain of the node groups that run it, and what
/// it adds to each virtual host and route as <c>typed_per_filter_config</c> (keyed by <see cref="Name"/>). One class
/// per filter, in its own file; <see cref="HttpFilterRegistry"/> lists them in chain order.
/// </summary>
/// <remarks>
/// A filter's config must follow from its scope alone (role, host, Service port state or planned host): a Service
/// port's virtual host is built once and kept while the port's routing is unchanged.
/// </remarks>
internal abstract class HttpFilterTranslator
{
    /// <summary>The filter's name in the chain, also the key of its per-host and per-route config (<c>envoy.filters.http.router</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Whether the connection managers of <paramref name="role"/> (a <see cref="DataPlaneRoles"/> value) run the filter; proxyless gRPC clients support only the router and a few others.</summary>
    public abstract bool RunsIn(string role);

    /// <summary>The filter's entry in the chain of <paramref name="role"/>'s connection managers.</summary>
    public abstract HttpFilter Entry(string role);

    /// <summary>Whether translation with <paramref name="options"/> runs the filter at all (the preview filters only with a preview domain); always by default.</summary>
    public virtual bool RunsWith(TranslationOptions options) => true;

    /// <summary>Sets what the filter needs of <paramref name="role"/>'s connection managers beyond its chain entry (a local reply body); nothing by default.</summary>
    public virtual void ConfigureConnectionManager(Hcm connectionManager, string role)
    {
    }

    /// <summary>The filter's config for the virtual host of <paramref name="scope"/>, or null for none.</summary>
    public virtual IMessage? VirtualHostConfig(HttpFilterScope scope) => null;

    /// <summary>The filter's config for <paramref name="route"/> of the virtual host of <paramref name="scope"/>, or null for none.</summary>
    public virtual IMessage? RouteConfig(HttpFilterScope scope, Route route) => null;
}

/// <summary>A virtual host being built, as the HTTP filters see it.</summary>
/// <param name="Role">The node group (a <see cref="DataPlaneRoles"/> value).</param>
/// <param name="Host">The Envoy virtual host, its routes built; filters add their config to it and its routes.</param>
/// <param name="Port">The Service port it routes, or null for a host that is not a Service port's.</param>
/// <param name="Planned">The planned host it was made from (a preview host), or null for a Service port's.</param>
internal sealed record HttpFilterScope(string Role, VirtualHost Host, ServicePortState? Port, PlannedVirtualHost? Planned);
