using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using static XdsControlPlane.Translation.EnvoyBuilding;
using ModelMatch = XdsControlPlane.Model.RouteMatch;

namespace XdsControlPlane.Translation;

/// <summary>Which routing-key carriers and matcher fields a data plane understands.</summary>
/// <param name="CookieAndQuery">Also match the key in the cookie and the query parameter (gateways).</param>
/// <param name="OriginalHeaderMatcherFields">Use the original <c>exact_match</c>/<c>prefix_match</c>/<c>safe_regex_match</c>/<c>present_match</c> fields instead of <c>string_match</c> (proxyless gRPC: every client generation parses them).</param>
/// <param name="Connect">Add a CONNECT route so clients can tunnel TCP to the Service port (gateways).</param>
internal sealed record RouteFlavor(bool CookieAndQuery, bool OriginalHeaderMatcherFields, bool Connect);

/// <summary>
/// Builds the routes of one Service port: for every keyed route one Envoy route per key carrier (header, baggage
/// member, and at gateways cookie and query parameter), most specific first, then the baseline route. A route matched
/// by cookie or query parameter forwards the key in the routing-key header, which applications propagate to the next
/// hop (a browser's cookie or URL does not travel with the fork's own calls).
/// </summary>
#pragma warning disable CS0612 // gRPC clients get the deprecated exact_match/prefix_match/safe_regex_match fields (see GrpcAssembler).
internal sealed class RouteTranslator(TranslationOptions options)
{
    private const string DefaultRetryOn = "5xx,reset,connect-failure,refused-stream";
    private const string CookieCarrier = "cookie";
    private const string QueryCarrier = "query";

    /// <summary>The routes for a Service port whose baseline cluster is <paramref name="baselineCluster"/>.</summary>
    public IEnumerable<Route> Routes(string baselineCluster, bool http, IReadOnlyList<PlannedRoute> keyed, RouteFlavor flavor)
    {
        if (http)
        {
            foreach (var planned in keyed)
            {
                foreach (var (carrier, match) in KeyMatches(planned.RoutingKey, flavor))
                {
                    var route = KeyedRoute(planned, carrier, match, flavor);
                    if (carrier is CookieCarrier or QueryCarrier)
                    {
                        ForwardKey(route, planned);
                    }

                    yield return route;
                }
            }

            yield return new Route
            {
                Name = "baseline",
                Match = new RouteMatch { Prefix = "/" },
                Route_ = new RouteAction { Cluster = baselineCluster, Timeout = Duration(TimeSpan.Zero) },
            };
        }

        if (flavor.Connect)
        {
            yield return new Route
            {
                Name = "connect",
                Match = new RouteMatch { ConnectMatcher = new RouteMatch.Types.ConnectMatcher() },
                Route_ = new RouteAction
                {
                    Cluster = baselineCluster,
                    Timeout = Duration(TimeSpan.Zero),
                    UpgradeConfigs =
                    {
                        new RouteAction.Types.UpgradeConfig { UpgradeType = "CONNECT", ConnectConfig = new RouteAction.Types.UpgradeConfig.Types.ConnectConfig() },
                    },
                },
            };
        }
    }

    private IEnumerable<(string Carrier, RouteMatch Match)> KeyMatches(string key, RouteFlavor flavor)
    {
        var escaped = System.Text.RegularExpressions.Regex.Escape(key);
        yield return ("header", new RouteMatch { Headers = { Exact(options.RoutingKeyHeader, key, flavor) } });

        // W3C baggage: comma-separated members "name = value *(; property)"; the member must be exactly ours.
        var member = System.Text.RegularExpressions.Regex.Escape(options.BaggageMember);
        yield return ("baggage", new RouteMatch { Headers = { RegexMatch("baggage", $"^(?:.*,)?[ \\t]*{member}[ \\t]*=[ \\t]*{escaped}[ \\t]*(?:[;,].*)?$", flavor) } });
        if (flavor.CookieAndQuery)
        {
            var cookie = System.Text.RegularExpressions.Regex.Escape(options.CookieName);
            yield return (CookieCarrier, new RouteMatch { Headers = { RegexMatch("cookie", $"^(?:.*;)?[ \\t]*{cookie}={escaped}[ \\t]*(?:;.*)?$", flavor) } });
            yield return (QueryCarrier, new RouteMatch
            {
                QueryParameters = { new QueryParameterMatcher { Name = options.QueryParameter, StringMatch = new StringMatcher { Exact = key } } },
            });
        }
    }

    private static Route KeyedRoute(PlannedRoute planned, string carrier, RouteMatch match, RouteFlavor flavor)
    {
        match.Prefix = planned.Match?.PathPrefix ?? "/";
        match.Headers.AddRange(RuleHeaders(planned.Match, flavor));
        var action = new RouteAction { Timeout = Duration(TimeSpan.Zero) };
        if (planned.To.Count == 1)
        {
            action.Cluster = planned.To[0].Cluster;
        }
        else
        {
            var weighted = new WeightedCluster();
            foreach (var destination in planned.To)
            {
                var weight = new WeightedCluster.Types.ClusterWeight { Name = destination.Cluster, Weight = (uint)destination.Weight };
                weighted.Clusters.Add(weight);
            }

            action.WeightedClusters = weighted;
        }

        var rule = planned.Rule;
        if (rule?.Timeout is { } timeout && Model.GoDuration.TryParse(timeout, out var duration))
        {
            action.Timeout = Duration(duration);
        }

        if (rule?.Retries is { } retries)
        {
            action.RetryPolicy = new global::Envoy.Config.Route.V3.RetryPolicy
            {
                RetryOn = string.IsNullOrWhiteSpace(retries.RetryOn) ? DefaultRetryOn : retries.RetryOn.Replace(" ", "", StringComparison.Ordinal),
                NumRetries = (uint)Math.Clamp(retries.Attempts, 1, 10),
            };
        }

        var route = new Route { Name = $"{planned.Name}|{carrier}", Match = match, Route_ = action };
        foreach (var (name, value) in (rule?.RequestHeadersToAdd ?? new Dictionary<string, string>()).OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            route.RequestHeadersToAdd.Add(Header(name.ToLowerInvariant(), value));
        }

        if (planned.To.Count == 1)
        {
        }

        return route;
    }

    /// <summary>
    /// Adds the routing-key header with the key that matched, replacing any value the request had: this hop was routed
    /// by that key, so the next hops must be too (a stale or different header would send the fork's own calls elsewhere).
    /// A rule that sets the header itself (<c>requestHeadersToAdd</c>) keeps its value.
    /// </summary>
    private void ForwardKey(Route route, PlannedRoute planned)
    {
        if (route.RequestHeadersToAdd.All(h => !string.Equals(h.Header.Key, options.RoutingKeyHeader, StringComparison.Ordinal)))
        {
            route.RequestHeadersToAdd.Add(Header(options.RoutingKeyHeader, planned.RoutingKey));
        }
    }

    /// <summary>A request header set by a route, replacing any value the request had.</summary>
    public static HeaderValueOption Header(string name, string value) => new()
    {
        Header = new HeaderValue { Key = name, Value = value },
        AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd,
    };

    private static IEnumerable<HeaderMatcher> RuleHeaders(ModelMatch? match, RouteFlavor flavor)
    {
        foreach (var header in match?.Headers ?? [])
        {
            var name = header.Name.ToLowerInvariant();
            if (header.Exact is { } exact)
            {
                yield return Exact(name, exact, flavor);
            }
            else if (header.Prefix is { } prefix)
            {
                yield return flavor.OriginalHeaderMatcherFields
                    ? new HeaderMatcher { Name = name, PrefixMatch = prefix }
                    : new HeaderMatcher { Name = name, StringMatch = new StringMatcher { Prefix = prefix } };
            }
            else if (header.Regex is { } regex)
            {
                yield return RegexMatch(name, regex, flavor);
            }
            else
            {
                yield return new HeaderMatcher { Name = name, PresentMatch = true };
            }
        }
    }

    private static HeaderMatcher Exact(string name, string value, RouteFlavor flavor) =>
        flavor.OriginalHeaderMatcherFields
            ? new HeaderMatcher { Name = name, ExactMatch = value }
            : new HeaderMatcher { Name = name, StringMatch = new StringMatcher { Exact = value } };

    private static HeaderMatcher RegexMatch(string name, string pattern, RouteFlavor flavor) =>
        flavor.OriginalHeaderMatcherFields
            ? new HeaderMatcher { Name = name, SafeRegexMatch = new RegexMatcher { Regex = pattern } }
            : new HeaderMatcher { Name = name, StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = pattern } } };
}
