using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>Checks a LocalWorkload: its key or Sandbox, the Service and ports it stands in for, its secret's hash, what it exposes and its previews.</summary>
internal sealed class LocalWorkloadValidator : ManifestObjectValidator<LocalWorkload>
{
    /// <summary>The longest <c>spec.expose[].service</c>: <c>name.namespace</c>, two DNS labels of at most 63 characters.</summary>
    public const int MaxExposedServiceLength = 127;

    /// <inheritdoc />
    protected override void Check(LocalWorkload obj, RoutingInputs inputs, ValidationProblems problems)
    {
        var spec = obj.Spec;
        var ns = obj.Metadata.Namespace;
        if ((spec.Sandbox is null) == (spec.RoutingKey is null))
        {
            problems.Add("spec", "needs exactly one of sandbox or routingKey");
        }
        else if (spec.RoutingKey is not null)
        {
            SharedFieldChecks.RoutingKey(spec.RoutingKey, obj.Metadata.Name, problems);
        }
        else if (inputs.FindSandbox(ns, spec.Sandbox!) is null)
        {
            problems.AddReference("spec.sandbox", $"Sandbox {ns}/{spec.Sandbox} does not exist");
        }

        var service = CheckPorts(spec, ns, inputs, problems);
        CheckPreviews(spec, service, problems);
        if (spec.SecretHash is { } hash && !SchemaPatterns.IsSecretHash(hash))
        {
            // Never echo it: a secret pasted by mistake would end up in logs and status.
            problems.Add("spec.secretHash", "must be 'sha256:' followed by 64 lowercase hex digits");
        }

        var expose = spec.Expose ?? [];
        if (expose.Count > ModelLimits.MaxExposedServices)
        {
            problems.Add("spec.expose", $"at most {Number(ModelLimits.MaxExposedServices)} Services, got {Number(expose.Count)}");
        }

        for (var i = 0; i < Math.Min(expose.Count, ModelLimits.MaxExposedServices); i++)
        {
            if (expose[i]?.Service is { Length: > MaxExposedServiceLength } tooLong)
            {
                // Not echoed: a megabyte of it would flood logs and status.
                problems.Add($"spec.expose[{i}].service", $"at most {Number(MaxExposedServiceLength)} characters (name.namespace), got {Number(tooLong.Length)}");
            }
            else if (!SchemaPatterns.IsServiceReference(expose[i]?.Service))
            {
                problems.Add($"spec.expose[{i}].service", "must be a Service name, or name.namespace");
            }
        }
    }

    /// <summary>Checks the previews: each of an HTTP or gRPC port the workload serves, once, with a known access level.</summary>
    private static void CheckPreviews(LocalWorkloadSpec spec, KubeService? service, ValidationProblems problems)
    {
        var previews = spec.Previews ?? [];
        var ports = spec.Ports ?? [];
        var seen = new HashSet<(string, int)>();
        for (var i = 0; i < PreviewChecks.Count(previews.Count, problems); i++)
        {
            var port = previews[i]?.Port ?? 0;
            if (ports.FirstOrDefault(p => p?.Port == port) is not { } served)
            {
                problems.Add($"spec.previews[{i}].port", $"must be one of spec.ports ({string.Join(", ", ports.Select(p => Number(p?.Port ?? 0)))}), got {Number(port)}");
            }
            else if (served.Protocol == LocalPort.Tcp)
            {
                problems.Add($"spec.previews[{i}].port", $"port {Number(port)} is a tcp port; a preview opens an http or grpc port in a browser");
            }
            else if (service?.FindPort(port) is { } declared)
            {
                // The laptop's port may say http while the Service declares it tcp: the gateway follows the Service.
                PreviewChecks.HttpPort(service, declared, $"spec.previews[{i}].port", problems);
            }

            PreviewChecks.Access(previews[i]?.Access, $"spec.previews[{i}].access", problems);
            PreviewChecks.Unique(seen, spec.Service ?? "", port, $"spec.previews[{i}]", problems);
        }

        PreviewChecks.RateLimit(spec.PreviewRateLimit, problems);
    }

    /// <summary>Checks the Service the laptop stands in for and the ports it serves of it; returns the Service when it exists.</summary>
    private static KubeService? CheckPorts(LocalWorkloadSpec spec, string ns, RoutingInputs inputs, ValidationProblems problems)
    {
        // A laptop stands in for a Service of its own namespace only: the tunnel and its routes are namespaced.
        KubeService? service = null;
        if (spec.Service is { } named && named.Contains('.', StringComparison.Ordinal))
        {
            problems.Add("spec.service", $"must name a Service in the LocalWorkload's namespace {ns} (no '.namespace'), got '{named}'");
        }
        else
        {
            service = SharedFieldChecks.ServiceReference(spec.Service, "spec.service", ns, inputs, problems);
        }

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

            if (ports[i].Protocol is not (LocalPort.Http or LocalPort.Grpc or LocalPort.Tcp))
            {
                problems.Add($"spec.ports[{i}].protocol", $"must be http, grpc or tcp, got '{ports[i].Protocol}'");
            }
        }

        return service;
    }
}
