using System.Globalization;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Model;

/// <summary>
/// Checks manifest objects: their own fields (formats, ranges, one-of rules, weights) and their references to
/// Services, ports, Sandboxes and LocalWorkloads. Returns every problem with its field path; never throws on bad input.
/// Of the objects referred to it reads only Services (all of them), a Sandbox's existence and a LocalWorkload's spec:
/// <see cref="LastGoodManifestSet"/> validates again only when one of those changed, so keep it so or tell it.
/// </summary>
public static partial class ManifestValidator
{
    private static readonly string[] RetryConditions =
    [
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx",
        "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
        "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
    ];

    /// <summary>Every problem of <paramref name="obj"/>, checking references against <paramref name="inputs"/>.</summary>
    public static IReadOnlyList<ManifestProblem> Validate(IManifestObject obj, RoutingInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(inputs);
        var problems = new Problems(obj.Key);
        CheckMetadata(obj.Metadata, problems);
        switch (obj)
        {
            case RouteGroup group:
                CheckRouteGroup(group, inputs, problems);
                break;
            case Sandbox sandbox:
                CheckSandbox(sandbox, inputs, problems);
                break;
            case LocalWorkload workload:
                CheckLocalWorkload(workload, inputs, problems);
                break;
            case KubeService service:
                CheckService(service, problems);
                break;
            case EndpointSlice slice:
                if (slice.ServiceName is null)
                {
                    problems.Add("metadata.labels", $"needs label {EndpointSlice.ServiceNameLabel} naming its Service");
                }

                break;
        }

        return problems.All;
    }

    private static void CheckMetadata(ObjectMeta metadata, Problems problems)
    {
        if (string.IsNullOrEmpty(metadata.Name))
        {
            problems.Add("metadata.name", "required");
        }
        else if (metadata.Name.Length > 253 || !Subdomain().IsMatch(metadata.Name))
        {
            problems.Add("metadata.name", $"must be a DNS subdomain (lower-case letters, digits, '-' and '.'), got '{metadata.Name}'");
        }

        if (!Label().IsMatch(metadata.Namespace))
        {
            problems.Add("metadata.namespace", $"must be a DNS label of at most 63 characters, got '{metadata.Namespace}'");
        }
    }

    private static void CheckRoutingKey(string? key, string name, Problems problems)
    {
        if (!string.IsNullOrEmpty(key))
        {
            if (!RoutingKey().IsMatch(key))
            {
                problems.Add("spec.routingKey", $"must be 1-63 characters of [a-z0-9-], got '{key}'");
            }
        }
        else if (!RoutingKey().IsMatch(name))
        {
            problems.Add("spec.routingKey", $"is empty, so the name '{name}' is the key, but a key must be 1-63 characters of [a-z0-9-]");
        }
    }

    private static void CheckRouteGroup(RouteGroup group, RoutingInputs inputs, Problems problems)
    {
        CheckRoutingKey(group.Spec.RoutingKey, group.Metadata.Name, problems);
        var routes = group.Spec.Routes ?? [];
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
            CheckRoute(routes[i], $"spec.routes[{i}]", group.Metadata.Namespace, inputs, problems);
        }
    }

    private static void CheckRoute(RouteRule route, string path, string ns, RoutingInputs inputs, Problems problems)
    {
        var baseline = CheckServiceReference(route.Service, $"{path}.service", ns, inputs, problems);
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
            CheckMatch(match, $"{path}.match", problems);
        }

        CheckDestinations(route, path, ns, baseline, inputs, problems);
        foreach (var (name, _) in route.RequestHeadersToAdd ?? new Dictionary<string, string>())
        {
            if (!HeaderName().IsMatch(name) || name.StartsWith(':') || string.Equals(name, "host", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{path}.requestHeadersToAdd.{name}", "must be a valid HTTP header name other than host and pseudo-headers");
            }
        }

        if (route.Timeout is { } timeout && !DurationRanges.RouteTimeout.TryParse(timeout, out _, out var timeoutProblem))
        {
            problems.Add($"{path}.timeout", timeoutProblem!);
        }

        if (route.Retries is { } retries)
        {
            if (retries.Attempts is < 1 or > 10)
            {
                problems.Add($"{path}.retries.attempts", $"must be between 1 and 10, got {Number(retries.Attempts)}");
            }

            foreach (var condition in (retries.RetryOn ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!RetryConditions.Contains(condition, StringComparer.Ordinal))
                {
                    problems.Add($"{path}.retries.retryOn", $"unknown retry condition '{condition}'; use {string.Join(", ", RetryConditions)}");
                }
            }
        }
    }

    private static void CheckMatch(RouteMatch match, string path, Problems problems)
    {
        if (match.PathPrefix is { } prefix && !prefix.StartsWith('/'))
        {
            problems.Add($"{path}.pathPrefix", $"must start with '/', got '{prefix}'");
        }

        var headers = match.Headers ?? [];
        if (headers.Count > ModelLimits.MaxHeaderMatches)
        {
            problems.Add($"{path}.headers", $"at most {Number(ModelLimits.MaxHeaderMatches)} header conditions, got {Number(headers.Count)}");
        }

        for (var i = 0; i < headers.Count; i++)
        {
            var header = headers[i];
            var at = $"{path}.headers[{i}]";
            if (string.IsNullOrEmpty(header.Name) || !HeaderName().IsMatch(header.Name))
            {
                problems.Add($"{at}.name", $"must be a valid HTTP header name, got '{header.Name}'");
            }

            var given = (header.Exact is null ? 0 : 1) + (header.Prefix is null ? 0 : 1) + (header.Regex is null ? 0 : 1) + (header.Present is null ? 0 : 1);
            if (given != 1)
            {
                problems.Add(at, $"needs exactly one of exact, prefix, regex or present, got {Number(given)}");
            }

            if (header.Present == false)
            {
                problems.Add($"{at}.present", "can only be true; to match a missing header, route the other requests instead");
            }

            if (header.Prefix is "")
            {
                problems.Add($"{at}.prefix", "must not be empty; use present: true");
            }

            if (header.Regex is { } regex && Re2Syntax.Check(regex) is { } regexProblem)
            {
                problems.Add($"{at}.regex", regexProblem);
            }
        }
    }

    private static void CheckDestinations(RouteRule route, string path, string ns, KubeService? baseline, RoutingInputs inputs, Problems problems)
    {
        var to = route.To ?? [];
        if (to.Count == 0)
        {
            problems.Add($"{path}.to", "needs at least one destination");
            return;
        }

        if (to.Count > ModelLimits.MaxDestinations)
        {
            problems.Add($"{path}.to", $"at most {Number(ModelLimits.MaxDestinations)} destinations, got {Number(to.Count)}");
        }

        var sum = 0;
        for (var i = 0; i < to.Count; i++)
        {
            var destination = to[i];
            var at = $"{path}.to[{i}]";
            var given = (destination.Service is null ? 0 : 1) + (destination.LocalWorkload is null ? 0 : 1) + (destination.Sandbox is null ? 0 : 1);
            if (given != 1)
            {
                problems.Add(at, $"needs exactly one of service, localWorkload or sandbox, got {Number(given)}");
            }

            if (destination.Weight is { } weight)
            {
                if (weight is < 0 or > 100)
                {
                    problems.Add($"{at}.weight", $"must be between 0 and 100, got {Number(weight)}");
                }

                sum += weight;
            }
            else if (to.Count > 1)
            {
                problems.Add($"{at}.weight", "required when a route has several destinations");
            }

            var ports = route.Port is { } port ? [port] : baseline?.Spec.Ports.Select(p => p.Port).ToArray() ?? [];
            if (destination.Service is not null)
            {
                var service = CheckServiceReference(destination.Service, $"{at}.service", ns, inputs, problems);
                foreach (var missing in ports.Where(p => service is not null && service.FindPort(p) is null))
                {
                    problems.AddReference($"{at}.service", $"Service {service!.Metadata.Namespace}/{service.Metadata.Name} has no port {Number(missing)}, which the route sends it");
                }
            }
            else if (destination.LocalWorkload is { } workloadName)
            {
                var workload = inputs.FindLocalWorkload(ns, workloadName);
                if (workload is null)
                {
                    problems.AddReference($"{at}.localWorkload", $"LocalWorkload {ns}/{workloadName} does not exist");
                }
                else
                {
                    foreach (var missing in ports.Where(p => !(workload.Spec.Ports ?? []).Any(served => served.Port == p)))
                    {
                        problems.AddReference($"{at}.localWorkload", $"LocalWorkload {ns}/{workloadName} does not serve port {Number(missing)}, which the route sends it");
                    }
                }
            }
            else if (destination.Sandbox is { } sandboxName)
            {
                if (inputs.FindSandbox(ns, sandboxName) is null)
                {
                    problems.AddReference($"{at}.sandbox", $"Sandbox {ns}/{sandboxName} does not exist");
                }
                else if (baseline is not null && inputs.FindForkService(ns, sandboxName, baseline.Metadata.Name) is null)
                {
                    problems.AddReference($"{at}.sandbox", $"Sandbox {ns}/{sandboxName} has no fork of Service {baseline.Metadata.Name} (no Service labelled {SandboxLabels.Sandbox}={sandboxName}, {SandboxLabels.ForkOf}={baseline.Metadata.Name})");
                }
            }
        }

        if (to.Count > 1 && sum != 100)
        {
            problems.Add($"{path}.to", $"weights must sum to 100, got {Number(sum)}");
        }
    }

    private static KubeService? Refuse(Problems problems, string reason)
    {
        problems.Add("spec.service", reason);
        return null;
    }

    private static KubeService? CheckServiceReference(string? reference, string path, string ns, RoutingInputs inputs, Problems problems)
    {
        if (string.IsNullOrEmpty(reference))
        {
            problems.Add(path, "required");
            return null;
        }

        var (serviceNamespace, name) = RoutingInputs.ParseServiceReference(reference, ns);
        if (!Label().IsMatch(name) || !Label().IsMatch(serviceNamespace))
        {
            problems.Add(path, $"must be 'name' or 'name.namespace', got '{reference}'");
            return null;
        }

        var service = inputs.FindService(serviceNamespace, name);
        if (service is null)
        {
            problems.AddReference(path, $"Service {serviceNamespace}/{name} does not exist");
        }
        else if (!service.AllowsRoutesFrom(ns))
        {
            problems.AddNotPermitted(path, $"Service {serviceNamespace}/{name} does not allow routes from namespace {ns} (its annotation {SandboxLabels.AllowRoutesFrom} must list {ns})");
            return null;
        }

        return service;
    }

    private static void CheckSandbox(Sandbox sandbox, RoutingInputs inputs, Problems problems)
    {
        CheckRoutingKey(sandbox.Spec.RoutingKey ?? sandbox.Status?.RoutingKey, sandbox.Metadata.Name, problems);
        var forks = sandbox.Spec.Forks ?? [];
        for (var i = 0; i < forks.Count; i++)
        {
            var fork = forks[i];
            if (fork.Of?.Kind != "Deployment")
            {
                problems.Add($"spec.forks[{i}].of.kind", $"must be Deployment, got '{fork.Of?.Kind}'");
            }

            if (string.IsNullOrEmpty(fork.Of?.Name) || !Label().IsMatch(fork.Of.Name))
            {
                problems.Add($"spec.forks[{i}].of.name", $"must name a Deployment, got '{fork.Of?.Name}'");
            }

            var env = fork.Env ?? [];
            for (var j = 0; j < env.Count; j++)
            {
                if (!EnvName().IsMatch(env[j].Name ?? ""))
                {
                    problems.Add($"spec.forks[{i}].env[{j}].name", $"must be a valid environment variable name, got '{env[j].Name}'");
                }
            }
        }

        if (sandbox.Spec.Ttl is { } ttl && !DurationRanges.SandboxTtl.TryParse(ttl, out _, out var ttlProblem))
        {
            problems.Add("spec.ttl", ttlProblem!);
        }

        var previews = sandbox.Spec.Previews ?? [];
        for (var i = 0; i < previews.Count; i++)
        {
            var preview = previews[i];
            var service = CheckServiceReference(preview.Service, $"spec.previews[{i}].service", sandbox.Metadata.Namespace, inputs, problems);
            if (service is not null && service.FindPort(preview.Port) is null)
            {
                problems.AddReference($"spec.previews[{i}].port", $"Service {service.Metadata.Namespace}/{service.Metadata.Name} has no port {Number(preview.Port)}");
            }

            if (preview.Access is not ("public" or "shared" or "personal"))
            {
                problems.Add($"spec.previews[{i}].access", $"must be public, shared or personal, got '{preview.Access}'");
            }
        }
    }

    private static void CheckLocalWorkload(LocalWorkload workload, RoutingInputs inputs, Problems problems)
    {
        var spec = workload.Spec;
        if ((spec.Sandbox is null) == (spec.RoutingKey is null))
        {
            problems.Add("spec", "needs exactly one of sandbox or routingKey");
        }
        else if (spec.RoutingKey is not null)
        {
            CheckRoutingKey(spec.RoutingKey, workload.Metadata.Name, problems);
        }
        else if (inputs.FindSandbox(workload.Metadata.Namespace, spec.Sandbox!) is null)
        {
            problems.AddReference("spec.sandbox", $"Sandbox {workload.Metadata.Namespace}/{spec.Sandbox} does not exist");
        }

        // A laptop stands in for a Service of its own namespace only: the tunnel and its routes are namespaced.
        var service = spec.Service is { } named && named.Contains('.', StringComparison.Ordinal)
            ? Refuse(problems, $"must name a Service in the LocalWorkload's namespace {workload.Metadata.Namespace} (no '.namespace'), got '{named}'")
            : CheckServiceReference(spec.Service, "spec.service", workload.Metadata.Namespace, inputs, problems);
        var ports = spec.Ports ?? [];
        if (ports.Count == 0)
        {
            problems.Add("spec.ports", "needs at least one port");
        }

        for (var i = 0; i < ports.Count; i++)
        {
            if (service is not null && service.FindPort(ports[i].Port) is null)
            {
                problems.AddReference($"spec.ports[{i}].port", $"Service {service.Metadata.Namespace}/{service.Metadata.Name} has no port {Number(ports[i].Port)} (it has {Ports(service)})");
            }

            if (ports[i].Protocol is not ("http" or "grpc" or "tcp"))
            {
                problems.Add($"spec.ports[{i}].protocol", $"must be http, grpc or tcp, got '{ports[i].Protocol}'");
            }
        }

        if (spec.SecretHash is { } hash && !SecretHash().IsMatch(hash))
        {
            // Never echo it: a secret pasted by mistake would end up in logs and status.
            problems.Add("spec.secretHash", "must be 'sha256:' followed by 64 lowercase hex digits");
        }

        var expose = spec.Expose ?? [];
        if (expose.Count > 32)
        {
            problems.Add("spec.expose", $"at most 32 Services, got {Number(expose.Count)}");
        }

        for (var i = 0; i < Math.Min(expose.Count, 32); i++)
        {
            if (expose[i]?.Service is not { } exposed || !ServiceReference().IsMatch(exposed))
            {
                problems.Add($"spec.expose[{i}].service", "must be a Service name, or name.namespace");
            }
        }
    }

    private static void CheckService(KubeService service, Problems problems)
    {
        var ports = service.Spec.Ports ?? [];
        for (var i = 0; i < ports.Count; i++)
        {
            if (ports[i].Port is < 1 or > 65535)
            {
                problems.Add($"spec.ports[{i}].port", $"must be between 1 and 65535, got {Number(ports[i].Port)}");
            }

            if (ports.Take(i).Any(p => p.Port == ports[i].Port && p.Protocol == ports[i].Protocol))
            {
                problems.Add($"spec.ports[{i}].port", $"port {Number(ports[i].Port)} appears twice");
            }
        }
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Ports(KubeService service) =>
        service.Spec.Ports.Count == 0 ? "no ports" : string.Join(", ", service.Spec.Ports.Select(p => Number(p.Port)));

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Subdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Label();

    [GeneratedRegex("^[a-z0-9-]{1,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex RoutingKey();

    [GeneratedRegex(SchemaPatterns.SecretHash, RegexOptions.CultureInvariant)]
    private static partial Regex SecretHash();

    [GeneratedRegex(SchemaPatterns.ServiceReference, RegexOptions.CultureInvariant)]
    private static partial Regex ServiceReference();

    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    private sealed class Problems(ResourceKey key)
    {
        private readonly List<ManifestProblem> _all = [];

        public IReadOnlyList<ManifestProblem> All => _all;

        public void Add(string path, string reason) => _all.Add(new ManifestProblem(key, path, reason));

        public void AddReference(string path, string reason) => _all.Add(new ManifestProblem(key, path, reason) { Kind = ProblemKind.UnresolvedReference });

        public void AddNotPermitted(string path, string reason) => _all.Add(new ManifestProblem(key, path, reason) { Kind = ProblemKind.NotPermitted });
    }
}
