using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>Checks a Sandbox: its key, forks (workload and environment), time to live, previews and their rate limit.</summary>
internal sealed class SandboxValidator : ManifestObjectValidator<Sandbox>
{
    /// <inheritdoc />
    protected override void Check(Sandbox obj, RoutingInputs inputs, ValidationProblems problems)
    {
        SharedFieldChecks.RoutingKey(obj.Spec.RoutingKey ?? obj.Status?.RoutingKey, obj.Metadata.Name, problems);
        var forks = obj.Spec.Forks ?? [];
        for (var i = 0; i < forks.Count; i++)
        {
            CheckFork(forks[i], $"spec.forks[{i}]", problems);
        }

        if (obj.Spec.Ttl is { } ttl && !DurationRanges.SandboxTtl.TryParse(ttl, out _, out var ttlProblem))
        {
            problems.Add("spec.ttl", ttlProblem!);
        }

        var previews = obj.Spec.Previews ?? [];
        var seen = new HashSet<(string, int)>();
        for (var i = 0; i < PreviewChecks.Count(previews.Count, problems); i++)
        {
            var preview = previews[i];
            var service = SharedFieldChecks.ServiceReference(preview.Service, $"spec.previews[{i}].service", obj.Metadata.Namespace, inputs, problems);
            if (service?.FindPort(preview.Port) is { } port)
            {
                PreviewChecks.HttpPort(service, port, $"spec.previews[{i}].port", problems);
            }
            else if (service is not null)
            {
                problems.AddReference($"spec.previews[{i}].port", $"Service {service.Metadata.Namespace}/{service.Metadata.Name} has no port {Number(preview.Port)}");
            }

            if (preview.Port is < 1 or > 65535)
            {
                problems.Add($"spec.previews[{i}].port", $"must be from 1 to 65535, got {Number(preview.Port)}");
            }

            PreviewChecks.Access(preview.Access, $"spec.previews[{i}].access", problems);
            PreviewChecks.Unique(seen, preview.Service ?? "", preview.Port, $"spec.previews[{i}]", problems);
        }

        PreviewChecks.RateLimit(obj.Spec.PreviewRateLimit, problems);
    }

    private static void CheckFork(Fork fork, string path, ValidationProblems problems)
    {
        if (fork.Of?.Kind != "Deployment")
        {
            problems.Add($"{path}.of.kind", $"must be Deployment, got '{fork.Of?.Kind}'");
        }

        if (string.IsNullOrEmpty(fork.Of?.Name) || !SchemaPatterns.IsDnsLabel(fork.Of.Name))
        {
            problems.Add($"{path}.of.name", $"must name a Deployment, got '{fork.Of?.Name}'");
        }

        var env = fork.Env ?? [];
        for (var j = 0; j < env.Count; j++)
        {
            if (!SchemaPatterns.IsEnvName(env[j].Name ?? ""))
            {
                problems.Add($"{path}.env[{j}].name", $"must be a valid environment variable name, got '{env[j].Name}'");
            }
        }
    }
}
