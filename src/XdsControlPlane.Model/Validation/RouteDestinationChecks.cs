using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>Checks a route's <c>to</c>: how many destinations, their weights, and that each one serves the route's ports.</summary>
internal static class RouteDestinationChecks
{
    /// <summary>Adds the problems of the destinations of <paramref name="route"/> (at <paramref name="path"/>, in namespace <paramref name="ns"/>).</summary>
    public static void Check(RouteRule route, string path, string ns, KubeService? baseline, RoutingInputs inputs, ValidationProblems problems)
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

            int[] ports = route.Port is { } port ? [port] : baseline?.Spec.Ports.Select(p => p.Port).ToArray() ?? [];
            CheckTarget(destination, at, ports, ns, baseline, inputs, problems);
        }

        if (to.Count > 1 && sum != 100)
        {
            problems.Add($"{path}.to", $"weights must sum to 100, got {Number(sum)}");
        }
    }

    /// <summary>Checks that the Service, LocalWorkload or Sandbox fork <paramref name="destination"/> names exists and serves <paramref name="ports"/>.</summary>
    private static void CheckTarget(Destination destination, string at, int[] ports, string ns, KubeService? baseline, RoutingInputs inputs, ValidationProblems problems)
    {
        if (destination.Service is not null)
        {
            var service = SharedFieldChecks.ServiceReference(destination.Service, $"{at}.service", ns, inputs, problems);
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
}
