using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>Checks a Sandbox: its key, forks (workload and environment), time to live and previews.</summary>
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
        for (var i = 0; i < previews.Count; i++)
        {
            var preview = previews[i];
            var service = SharedFieldChecks.ServiceReference(preview.Service, $"spec.previews[{i}].service", obj.Metadata.Namespace, inputs, problems);
            if (service is not null && service.FindPort(preview.Port) is null)
            {
                problems.AddReference($"spec.previews[{i}].port", $"Service {service.Metadata.Namespace}/{service.Metadata.Name} has no port {Number(preview.Port)}");
            }

            if (preview.Access is not (Preview.Public or Preview.Shared or Preview.Personal))
            {
                problems.Add($"spec.previews[{i}].access", $"must be public, shared or personal, got '{preview.Access}'");
            }
        }
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
