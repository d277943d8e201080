using System.Net.Sockets;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Dials the in-cluster Services an agent opens connections to: the registry says where <c>target_service:target_port</c>
/// goes for the workload (or refuses it); a failure is a <see cref="TunnelDialException"/> whose reason goes back to the agent.
/// </summary>
internal sealed class OutboundDialer(ILocalWorkloadRegistry registry, WorkloadClaim claim)
{
    /// <summary>A connected socket for the agent's <paramref name="open"/>.</summary>
    public async Task<Socket> DialAsync(Open open, CancellationToken cancellationToken)
    {
        if (open.TargetService.Length == 0 || open.TargetPort is < 1 or > 65535)
        {
            throw new TunnelDialException(CloseReason.Forbidden, "an agent opens only outbound connections, which name target_service and target_port (1-65535)");
        }

        var target = $"{open.TargetService}:{open.TargetPort}";
        var endpoint = await registry.ResolveOutboundAsync(claim, open.TargetService, (int)open.TargetPort, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new TunnelDialException(CloseReason.DialFailed, $"{target} ({endpoint}): {e.Message}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
