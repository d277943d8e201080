using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>Checks a Service's ports: in range, none twice for one protocol.</summary>
internal sealed class ServiceValidator : ManifestObjectValidator<KubeService>
{
    /// <inheritdoc />
    protected override void Check(KubeService obj, RoutingInputs inputs, ValidationProblems problems)
    {
        var ports = obj.Spec.Ports ?? [];
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
}
