using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;
using XdsControlPlane.Tunnel;

namespace XdsControlPlane.Server.LocalWorkloads;

/// <summary>
/// Checks what a LocalWorkload asks for against the objects in force — its Service and each port exist, its Sandbox
/// exists and has a routing key — and makes the <see cref="WorkloadClaim"/> the broker serves. Each failure is an
/// <see cref="RpcException"/> whose message names the object and says what exists instead.
/// </summary>
internal static class WorkloadClaims
{
    /// <summary>The claim for a workload <paramref name="ns"/>/<paramref name="name"/> serving <paramref name="ports"/> of <paramref name="service"/>.</summary>
    public static WorkloadClaim Build(RoutingInputs inputs, string ns, string name, string? sandbox, string? routingKey, string service, IEnumerable<int> ports, string sessionId, IReadOnlyList<string> expose)
    {
        if (string.IsNullOrEmpty(sandbox) == string.IsNullOrEmpty(routingKey))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"LocalWorkload {ns}/{name}: give exactly one of sandbox or routing key"));
        }

        var baseline = inputs.FindService(ns, service);
        if (baseline is null)
        {
            var known = string.Join(", ", inputs.Services.Where(s => s.Metadata.Namespace == ns).Select(s => s.Metadata.Name).Take(20));
            throw new RpcException(new Status(StatusCode.NotFound, $"Service {ns}/{service} not found (Services in {ns}: {(known.Length == 0 ? "none" : known)})"));
        }

        var servicePorts = baseline.Spec.Ports ?? [];
        var claimed = new List<ClaimedPort>();
        foreach (var port in ports.Distinct())
        {
            var found = servicePorts.FirstOrDefault(p => p.Port == port);
            if (found is null)
            {
                var available = string.Join(", ", servicePorts.Select(p => $"{p.Port}/{LocalWorkloadProtocols.Of(p)}"));
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Service {ns}/{service} has no port {port} (ports: {available})"));
            }

            claimed.Add(new ClaimedPort(port, LocalWorkloadProtocols.Of(found)));
        }

        if (claimed.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"LocalWorkload {ns}/{name}: no ports to serve"));
        }

        var key = routingKey;
        if (!string.IsNullOrEmpty(sandbox))
        {
            var found = inputs.FindSandbox(ns, sandbox) ?? throw new RpcException(new Status(StatusCode.NotFound, $"Sandbox {ns}/{sandbox} not found"));
            key = found.EffectiveRoutingKey;
            if (string.IsNullOrEmpty(key))
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Sandbox {ns}/{sandbox} has no routing key yet (its controller writes status.routingKey); try again in a moment"));
            }
        }

        return new WorkloadClaim(ns, name, key!, string.IsNullOrEmpty(sandbox) ? null : sandbox, service, claimed, sessionId, expose);
    }

    /// <summary>Whether <paramref name="secret"/> hashes to <paramref name="expected"/>, compared in constant time.</summary>
    public static bool Matches(string secret, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(LocalWorkload.HashSecret(secret)), Encoding.ASCII.GetBytes(expected));
}
