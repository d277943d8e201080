using System.Net;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.LocalWorkloads;

/// <summary>
/// Where a LocalWorkload's outbound connection (<c>--expose</c>) goes: a ready endpoint of a Service the control plane
/// knows — in the workload's own namespace, or one the agent named — preferring the fork of that Service in the
/// workload's Sandbox. Nothing else is reachable through the broker. Reads the inputs in force (<see cref="RoutingInputsStore"/>);
/// which ready endpoint is taken is <paramref name="random"/>'s choice.
/// </summary>
internal sealed class OutboundTargets(RoutingInputsStore inputsInForce, Random random)
{
    /// <summary>An endpoint of <paramref name="service"/> (<c>name</c> or <c>name.namespace</c>) port <paramref name="port"/> for <paramref name="claim"/>.</summary>
    public IPEndPoint Resolve(WorkloadClaim claim, string service, int port)
    {
        var parts = service.Split('.', 2);
        var (name, ns) = (parts[0], parts.Length == 2 ? parts[1] : claim.Namespace);
        if (ns != claim.Namespace && !claim.Expose.Contains(service, StringComparer.Ordinal))
        {
            throw new TunnelDialException(CloseReason.Forbidden, $"{service}: LocalWorkload {claim.Key} may reach the Services of namespace {claim.Namespace} and those its spec.expose lists (sandboxctl local connect --expose NAME.NAMESPACE:PORT=LOCAL writes it)");
        }

        var inputs = inputsInForce.Current ?? throw new TunnelDialException(CloseReason.DialFailed, "the control plane has not loaded its Services yet");
        var baseline = inputs.FindService(ns, name) ?? throw new TunnelDialException(CloseReason.Forbidden, $"no Service {ns}/{name} is known to the control plane");
        if (!(baseline.Spec.Ports ?? []).Any(p => p.Port == port))
        {
            var ports = string.Join(", ", (baseline.Spec.Ports ?? []).Select(p => p.Port));
            throw new TunnelDialException(CloseReason.Forbidden, $"Service {ns}/{name} has no port {port} (ports: {ports})");
        }

        // The Sandbox's fork of the Service, when it has one: the laptop's calls stay inside its sandbox.
        var target = claim.Sandbox is { } sandbox && inputs.FindForkService(ns, sandbox, name) is { } fork ? fork : baseline;
        var targetPort = (target.Spec.Ports ?? []).FirstOrDefault(p => p.Port == port) ?? (baseline.Spec.Ports ?? []).First(p => p.Port == port);
        var endpoints = ServiceEndpoints.Ready(targetPort, inputs.SlicesOf(ns, target.Metadata.Name))
            .SelectMany(zone => zone.Endpoints)
            .Where(e => IPAddress.TryParse(e.Address, out _))
            .ToArray();
        if (endpoints.Length == 0)
        {
            throw new TunnelDialException(CloseReason.DialFailed, $"Service {ns}/{target.Metadata.Name} has no ready endpoint for port {port}");
        }

        var chosen = endpoints[random.Next(endpoints.Length)];
        return new IPEndPoint(IPAddress.Parse(chosen.Address), chosen.Port);
    }
}
