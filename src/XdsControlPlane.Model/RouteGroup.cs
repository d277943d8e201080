using System.Text.Json.Serialization;

namespace XdsControlPlane.Model;

/// <summary>
/// <c>sandboxctl.io/v1alpha1 RouteGroup</c>: requests carrying the group's routing key go to the destinations of its
/// routes instead of the baseline Services. The unit of routing.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[CustomResource("routegroups", "rg")]
[PrinterColumn("Key", "string", ".spec.routingKey")]
[PrinterColumn("Accepted", "string", ".status.conditions[?(@.type==\"Accepted\")].status")]
[PrinterColumn("Programmed", "string", ".status.conditions[?(@.type==\"Programmed\")].status")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed record RouteGroup : IManifestObject
{
    /// <summary>The kind name.</summary>
    public const string KindName = "RouteGroup";

    /// <summary>Always <see cref="ApiVersions.Sandboxctl"/>.</summary>
    public string ApiVersion { get; init; } = ApiVersions.Sandboxctl;

    /// <summary>Always <see cref="KindName"/>.</summary>
    public string Kind { get; init; } = KindName;

    /// <inheritdoc />
    public ObjectMeta Metadata { get; init; } = new();

    /// <summary>What the group routes.</summary>
    public RouteGroupSpec Spec { get; init; } = new();

    /// <summary>Status written by the controller (ignored on input).</summary>
    public RouteGroupStatus? Status { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public ResourceKey Key => new(KindName, Metadata.Namespace, Metadata.Name);

    /// <summary>The routing key in force: <see cref="RouteGroupSpec.RoutingKey"/>, else the object's name.</summary>
    [JsonIgnore]
    public string EffectiveRoutingKey => string.IsNullOrEmpty(Spec.RoutingKey) ? Metadata.Name : Spec.RoutingKey;
}

/// <summary>The spec of a <see cref="RouteGroup"/>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RouteGroupSpec
{
    /// <summary>The routing key (1–63 characters of <c>[a-z0-9-]</c>); defaults to the object's name.</summary>
    [SchemaPattern(SchemaPatterns.RoutingKey)]
    public string? RoutingKey { get; init; }

    /// <summary>The routes; at least one.</summary>
    [SchemaRequired]
    [SchemaItems(1, ModelLimits.MaxRoutes)]
    public IReadOnlyList<RouteRule> Routes { get; init; } = [];
}

/// <summary>One route: requests for a baseline Service (and port) that carry the key and match go to <see cref="To"/>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RouteRule
{
    /// <summary>The baseline Service: <c>cart</c> (the RouteGroup's namespace) or <c>cart.other-ns</c>.</summary>
    [SchemaRequired]
    [SchemaPattern(SchemaPatterns.ServiceReference)]
    public string Service { get; init; } = "";

    /// <summary>The Service port; every port of the Service when absent.</summary>
    [SchemaRange(1, 65535)]
    public int? Port { get; init; }

    /// <summary>Extra conditions, AND-ed with the routing key.</summary>
    public RouteMatch? Match { get; init; }

    /// <summary>Destinations: one, or several with weights summing to 100.</summary>
    [SchemaRequired]
    [SchemaItems(1, ModelLimits.MaxDestinations)]
    [SchemaRule("self.size() == 1 || self.all(d, has(d.weight))", "every destination needs a weight when there are several")]
    [SchemaRule("self.size() == 1 || self.map(d, has(d.weight) ? d.weight : 0).sum() == 100", "weights must sum to 100")]
    public IReadOnlyList<Destination> To { get; init; } = [];

    /// <summary>Request headers added to routed requests.</summary>
    public IReadOnlyDictionary<string, string>? RequestHeadersToAdd { get; init; }

    /// <summary>Request timeout as a Go-style duration (<c>5s</c>, <c>1m30s</c>).</summary>
    [SchemaPattern(SchemaPatterns.Duration)]
    public string? Timeout { get; init; }

    /// <summary>Retries.</summary>
    public RetryPolicy? Retries { get; init; }
}

/// <summary>Conditions a request must also meet.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RouteMatch
{
    /// <summary>The request path starts with this (must start with <c>/</c>).</summary>
    [SchemaPattern("^/")]
    public string? PathPrefix { get; init; }

    /// <summary>Header conditions, all of which must hold.</summary>
    [SchemaItems(0, ModelLimits.MaxHeaderMatches)]
    public IReadOnlyList<HeaderMatch> Headers { get; init; } = [];
}

/// <summary>A header condition: exactly one of <see cref="Exact"/>, <see cref="Prefix"/>, <see cref="Regex"/>, <see cref="Present"/>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[SchemaRule("[has(self.exact), has(self.prefix), has(self.regex), has(self.present)].filter(x, x).size() == 1", "exactly one of exact, prefix, regex or present")]
public sealed record HeaderMatch
{
    /// <summary>The header name (case-insensitive; compared in lower case).</summary>
    [SchemaRequired]
    [SchemaPattern(SchemaPatterns.HeaderName)]
    public string Name { get; init; } = "";

    /// <summary>The header value equals this.</summary>
    public string? Exact { get; init; }

    /// <summary>The header value starts with this.</summary>
    public string? Prefix { get; init; }

    /// <summary>The whole header value matches this RE2 expression.</summary>
    public string? Regex { get; init; }

    /// <summary>The header is present (<see langword="true"/>).</summary>
    public bool? Present { get; init; }
}

/// <summary>Where routed requests go: exactly one of a Service, a LocalWorkload or a Sandbox's fork.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[SchemaRule("[has(self.service), has(self.localWorkload), has(self.sandbox)].filter(x, x).size() == 1", "exactly one of service, localWorkload or sandbox")]
public sealed record Destination
{
    /// <summary>A Service (<c>name</c> or <c>name.namespace</c>), same port as the route's.</summary>
    [SchemaPattern(SchemaPatterns.ServiceReference)]
    public string? Service { get; init; }

    /// <summary>A LocalWorkload in the RouteGroup's namespace.</summary>
    [SchemaPattern(SchemaPatterns.DnsLabel)]
    public string? LocalWorkload { get; init; }

    /// <summary>A Sandbox in the RouteGroup's namespace: its fork of the route's Service.</summary>
    [SchemaPattern(SchemaPatterns.DnsLabel)]
    public string? Sandbox { get; init; }

    /// <summary>Share of requests (0–100) when there are several destinations.</summary>
    [SchemaRange(0, 100)]
    public int? Weight { get; init; }
}

/// <summary>Retries of a routed request.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RetryPolicy
{
    /// <summary>How many retries (1–10).</summary>
    [SchemaRange(1, 10)]
    public int Attempts { get; init; } = 1;

    /// <summary>Envoy retry conditions, comma separated (<c>5xx,reset,connect-failure</c>).</summary>
    public string? RetryOn { get; init; }
}

/// <summary>API versions of the objects the control plane reads.</summary>
public static class ApiVersions
{
    /// <summary>The product's API group.</summary>
    public const string Group = "sandboxctl.io";

    /// <summary>The served and stored version of <see cref="Group"/>.</summary>
    public const string Version = "v1alpha1";

    /// <summary>The product's own group and version.</summary>
    public const string Sandboxctl = Group + "/" + Version;

    /// <summary>Kubernetes core.</summary>
    public const string CoreV1 = "v1";

    /// <summary>EndpointSlices.</summary>
    public const string DiscoveryV1 = "discovery.k8s.io/v1";
}
