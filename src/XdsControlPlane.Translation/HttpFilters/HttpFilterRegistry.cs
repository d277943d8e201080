using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;

namespace XdsControlPlane.Translation.HttpFilters;

/// <summary>
/// The HTTP filters of every connection manager, in chain order, and per role the ones it runs. The one place filters
/// are registered and ordered: a new filter (ext_authz and local rate limiting for previews) is one class and one entry
/// in <see cref="Product"/>.
/// </summary>
internal sealed class HttpFilterRegistry
{
    private readonly HttpFilterTranslator[] _filters;
    private readonly Dictionary<string, HttpFilterTranslator[]> _byRole;

    /// <summary>Filters in chain order; the router ends every chain.</summary>
    /// <exception cref="ArgumentException">The router is not last, or a name is registered twice.</exception>
    public HttpFilterRegistry(IReadOnlyList<HttpFilterTranslator> filters)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (filters.Count == 0 || filters[^1] is not RouterFilter || filters.Count(f => f is RouterFilter) != 1)
        {
            throw new ArgumentException("the router ends every chain, once", nameof(filters));
        }

        if (filters.GroupBy(f => f.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"HTTP filter {twice.Key} is registered twice", nameof(filters));
        }

        _filters = [.. filters];
        _byRole = DataPlaneRoles.All.ToDictionary(role => role, role => filters.Where(f => f.RunsIn(role)).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>
    /// The product's filters, in chain order: at the gateway, for preview hosts only, authorization
    /// (<see cref="ExtAuthzFilter"/>) and then rate limiting (<see cref="LocalRateLimitFilter"/>), so a request refused
    /// by the first takes no token; the router last.
    /// </summary>
    public static HttpFilterRegistry Product { get; } = new([new ExtAuthzFilter(), new LocalRateLimitFilter(), new RouterFilter()]);

    /// <summary>These filters less those translation with <paramref name="options"/> does not run (<see cref="HttpFilterTranslator.RunsWith"/>).</summary>
    public HttpFilterRegistry For(TranslationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _filters.All(f => f.RunsWith(options)) ? this : new HttpFilterRegistry([.. _filters.Where(f => f.RunsWith(options))]);
    }

    /// <summary>Lets each filter of <paramref name="role"/> set what it needs of <paramref name="connectionManager"/> beyond its chain entry.</summary>
    public void ConfigureConnectionManager(Hcm connectionManager, string role)
    {
        ArgumentNullException.ThrowIfNull(connectionManager);
        foreach (var filter in _byRole[role])
        {
            filter.ConfigureConnectionManager(connectionManager, role);
        }
    }

    /// <summary>The connection manager's filter chain for <paramref name="role"/>.</summary>
    public IEnumerable<HttpFilter> Chain(string role) => _byRole[role].Select(f => f.Entry(role));

    /// <summary>Adds each filter's per-host and per-route config to the virtual host of <paramref name="scope"/> and its routes.</summary>
    public void Configure(HttpFilterScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        foreach (var filter in _byRole[scope.Role])
        {
            if (filter.VirtualHostConfig(scope) is { } hostConfig)
            {
                scope.Host.TypedPerFilterConfig[filter.Name] = TypedConfigs.Pack(hostConfig);
            }

            foreach (var route in scope.Host.Routes)
            {
                if (filter.RouteConfig(scope, route) is { } routeConfig)
                {
                    route.TypedPerFilterConfig[filter.Name] = TypedConfigs.Pack(routeConfig);
                }
            }
        }
    }
}
