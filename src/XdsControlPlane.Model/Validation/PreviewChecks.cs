using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>The checks Sandboxes and LocalWorkloads share for their previews: how many, no repeats, access level and rate limit.</summary>
internal static class PreviewChecks
{
    /// <summary>Reports more than <see cref="ModelLimits.MaxPreviews"/> previews at <c>spec.previews</c>; returns how many to check one by one.</summary>
    public static int Count(int count, ValidationProblems problems)
    {
        if (count > ModelLimits.MaxPreviews)
        {
            problems.Add("spec.previews", $"at most {Number(ModelLimits.MaxPreviews)} previews, got {Number(count)}");
        }

        return Math.Min(count, ModelLimits.MaxPreviews);
    }

    /// <summary>Reports an access level other than public, shared or personal at <paramref name="path"/>.</summary>
    public static void Access(string? access, string path, ValidationProblems problems)
    {
        if (access is not (Preview.Public or Preview.Shared or Preview.Personal))
        {
            // Not echoed when long: a megabyte of it would flood logs and status.
            problems.Add(path, access is { Length: > 32 } ? "must be public, shared or personal" : $"must be public, shared or personal, got '{access}'");
        }
    }

    /// <summary>
    /// Reports, at <paramref name="path"/>, a previewed port of <paramref name="service"/> that carries no HTTP — declared
    /// tcp (its <c>appProtocol</c> or its name's prefix: <c>tcp</c>, <c>tls</c>, <c>redis</c>…) or not TCP at all
    /// (UDP, SCTP) — which the gateway makes no preview host for, so the user learns why there is none.
    /// </summary>
    public static void HttpPort(KubeService service, KubeServicePort port, string path, ValidationProblems problems)
    {
        var name = $"Service {service.Metadata.Namespace}/{service.Metadata.Name} port {Number(port.Port)}";
        if (port.Protocol != "TCP")
        {
            problems.AddReference(path, $"{name} is {(port.Protocol is { Length: <= 8 } p ? p : "not TCP")}; a preview opens an HTTP or gRPC port in a browser, so the gateway serves no host for it");
        }
        else if (!PortProtocols.Of(port).IsHttp())
        {
            var declared = port.AppProtocol is not null ? "its appProtocol" : "its name";
            problems.AddReference(path, $"{name} is declared tcp ({declared}); a preview opens an HTTP or gRPC port in a browser, so the gateway serves no host for it: preview another port, or declare this one appProtocol: http");
        }
    }

    /// <summary>Reports a second preview of the same Service and port (they would be one host) at <paramref name="path"/>.</summary>
    public static void Unique(HashSet<(string, int)> seen, string service, int port, string path, ValidationProblems problems)
    {
        if (!seen.Add((service, port)))
        {
            problems.Add(path, $"Service {service} port {Number(port)} is previewed twice; list each port once");
        }
    }

    /// <summary>Checks <c>spec.previewRateLimit</c>: both numbers in range, the burst at least the rate.</summary>
    public static void RateLimit(PreviewRateLimit? limit, ValidationProblems problems)
    {
        if (limit is null)
        {
            return;
        }

        if (limit.RequestsPerSecond is < 1 or > PreviewRateLimit.MaxRequestsPerSecond)
        {
            problems.Add("spec.previewRateLimit.requestsPerSecond", $"must be from 1 to {Number(PreviewRateLimit.MaxRequestsPerSecond)}, got {Number(limit.RequestsPerSecond)}");
        }

        if (limit.Burst is < 1 or > PreviewRateLimit.MaxBurst)
        {
            problems.Add("spec.previewRateLimit.burst", $"must be from 1 to {Number(PreviewRateLimit.MaxBurst)}, got {Number(limit.Burst)}");
        }
        else if (limit.Burst < limit.RequestsPerSecond)
        {
            problems.Add("spec.previewRateLimit.burst", $"must be at least requestsPerSecond ({Number(limit.RequestsPerSecond)}), got {Number(limit.Burst)}");
        }
    }
}
