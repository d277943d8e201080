using System.Globalization;
using Grpc.Core;
using XdsControlPlane.Model;
using XdsControlPlane.Tunnel;

namespace XdsControlPlane.Server.LocalWorkloads;

/// <summary>
/// The previews a LocalWorkload asks for (its <c>spec.previews</c>, or in manifests mode the agent's Hello), checked
/// against what the broker claimed for it — each of a claimed port that carries HTTP (a <c>tcp</c> port has nothing a
/// browser could open), once, with a known access level, at most <see cref="ModelLimits.MaxPreviews"/> — with the URL the
/// gateway serves each at (<see cref="PreviewSite"/>, the host translation makes). Each problem is InvalidArgument or
/// FailedPrecondition naming the field. Pure.
/// </summary>
internal static class WorkloadPreviews
{
    /// <summary>The previews of <paramref name="claim"/>, with their URLs under <paramref name="previewDomain"/> (null URLs while it is empty: previews are off).</summary>
    public static IReadOnlyList<ClaimedPreview> Of(WorkloadClaim claim, IReadOnlyList<(int Port, string Access)> previews, string? previewDomain, string salt)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(previews);
        if (previews.Count > ModelLimits.MaxPreviews)
        {
            throw Refused(StatusCode.InvalidArgument, claim, "spec.previews", $"at most {ModelLimits.MaxPreviews} previews, got {previews.Count}");
        }

        var seen = new HashSet<int>();
        for (var i = 0; i < previews.Count; i++)
        {
            var (port, access) = previews[i];
            var field = string.Create(CultureInfo.InvariantCulture, $"spec.previews[{i}]");
            if (claim.Ports.FirstOrDefault(p => p.Port == port) is not { } served)
            {
                throw Refused(StatusCode.InvalidArgument, claim, field + ".port", $"must be one of the ports it serves ({string.Join(", ", claim.Ports.Select(p => p.Port))}), got {port}");
            }

            if (served.Protocol == LocalPort.Tcp)
            {
                throw Refused(StatusCode.FailedPrecondition, claim, field + ".port", $"Service {claim.Namespace}/{claim.Service} port {port} is declared tcp (its appProtocol or name); a preview opens an http or grpc port in a browser");
            }

            if (!seen.Add(port))
            {
                throw Refused(StatusCode.InvalidArgument, claim, field + ".port", $"port {port} is previewed twice; list each port once");
            }

            if (access is not (Preview.Public or Preview.Shared or Preview.Personal))
            {
                throw Refused(StatusCode.InvalidArgument, claim, field + ".access", "must be public, shared or personal");
            }
        }

        if (previews.Count == 0)
        {
            return [];
        }

        var workload = new LocalWorkload
        {
            Metadata = new ObjectMeta { Namespace = claim.Namespace, Name = claim.Name },
            Spec = new Model.LocalWorkloadSpec { Service = claim.Service, Previews = [.. previews.Select(p => new LocalPreview { Port = p.Port, Access = p.Access })] },
        };
        var sites = PreviewSite.Of(workload, previewDomain, salt);
        return [.. previews.Select(p => new ClaimedPreview(p.Port, p.Access, sites.FirstOrDefault(s => s.Port == p.Port) is { } site ? PreviewHostNames.Url(site.Host) : null))];
    }

    private static RpcException Refused(StatusCode code, WorkloadClaim claim, string field, string reason) =>
        new(new Status(code, string.Create(CultureInfo.InvariantCulture, $"LocalWorkload {claim.Key}: {field}: {reason}")));
}
