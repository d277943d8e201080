using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>Checks a RouteGroup: its key and each route (baseline Service and port, match, destinations, headers, timeout, retries).</summary>
internal sealed class RouteGroupValidator : ManifestObjectValidator<RouteGroup>
{
    private static readonly string[] RetryConditions =
    [
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx",
        "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
        "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
    ];

    /// <inheritdoc />
    protected override void Check(RouteGroup obj, RoutingInputs inputs, ValidationProblems problems)
    {
        SharedFieldChecks.RoutingKey(obj.Spec.RoutingKey, obj.Metadata.Name, problems);
        var routes = obj.Spec.Routes ?? [];
        if (routes.Count == 0)
        {
            problems.Add("spec.routes", "needs at least one route");
        }
        else if (routes.Count > ModelLimits.MaxRoutes)
        {
            problems.Add("spec.routes", $"at most {Number(ModelLimits.MaxRoutes)} routes per RouteGroup, got {Number(routes.Count)}; split it");
        }

        for (var i = 0; i < routes.Count; i++)
        {
            CheckRoute(routes[i], $"spec.routes[{i}]", obj.Metadata.Namespace, inputs, problems);
        }
    }

    private static void CheckRoute(RouteRule route, string path, string ns, RoutingInputs inputs, ValidationProblems problems)
    {
        var baseline = SharedFieldChecks.ServiceReference(route.Service, $"{path}.service", ns, inputs, problems);
        if (route.Port is { } port)
        {
            if (port is < 1 or > 65535)
            {
                problems.Add($"{path}.port", $"must be between 1 and 65535, got {Number(port)}");
            }
            else if (baseline is not null && baseline.FindPort(port) is null)
            {
                problems.AddReference($"{path}.port", $"Service {baseline.Metadata.Namespace}/{baseline.Metadata.Name} has no port {Number(port)} (it has {Ports(baseline)})");
            }
        }

        if (route.Match is { } match)
        {
            RouteMatchChecks.Check(match, $"{path}.match", problems);
        }

        RouteDestinationChecks.Check(route, path, ns, baseline, inputs, problems);
        foreach (var (name, value) in route.RequestHeadersToAdd ?? new Dictionary<string, string>())
        {
            if (!SchemaPatterns.IsHeaderName(name) || name.StartsWith(':') || string.Equals(name, "host", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{path}.requestHeadersToAdd.{name}", "must be a valid HTTP header name other than host and pseudo-headers");
            }
            else if (SchemaPatterns.HeaderValueProblem(value) is { } valueProblem)
            {
                problems.Add($"{path}.requestHeadersToAdd.{name}", $"the value {valueProblem}");
            }
        }

        if (route.Timeout is { } timeout && !DurationRanges.RouteTimeout.TryParse(timeout, out _, out var timeoutProblem))
        {
            problems.Add($"{path}.timeout", timeoutProblem!);
        }

        if (route.Retries is { } retries)
        {
            CheckRetries(retries, $"{path}.retries", problems);
        }
    }

    private static void CheckRetries(RetryPolicy retries, string path, ValidationProblems problems)
    {
        if (retries.Attempts is < 1 or > 10)
        {
            problems.Add($"{path}.attempts", $"must be between 1 and 10, got {Number(retries.Attempts)}");
        }

        foreach (var condition in (retries.RetryOn ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!RetryConditions.Contains(condition, StringComparer.Ordinal))
            {
                problems.Add($"{path}.retryOn", $"unknown retry condition '{condition}'; use {string.Join(", ", RetryConditions)}");
            }
        }
    }
}
