using System.Net;
using Grpc.Core;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// How many agent streams each HTTP/2 connection and each remote address may have open at once
/// (<see cref="TunnelBrokerOptions.MaxAgentsPerConnection"/>, <see cref="TunnelBrokerOptions.MaxAgentsPerAddress"/>),
/// so one client cannot take every broker port: a stream beyond either limit is refused when it arrives, before its
/// Hello is read, so it claims nothing. A gRPC peer (<c>ipv4:1.2.3.4:5</c>) names the connection; its address the client.
/// Loopback peers have no per-address limit: behind <c>kubectl port-forward</c> (how laptops reach the broker in a cluster)
/// every agent arrives from the pod's loopback address, so that address is many clients, not one; the per-connection
/// limit still applies to them.
/// </summary>
internal sealed class AgentStreamQuota(TunnelBrokerOptions options)
{
    private readonly Dictionary<string, int> _perConnection = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Counts a stream from <paramref name="peer"/> until the result is disposed; throws a ResourceExhausted <see cref="AgentRefusedException"/> beyond a limit.</summary>
    public IDisposable Enter(string peer)
    {
        var ip = AddressOf(peer);
        var address = ip?.ToString() ?? peer;
        var addressLimited = options.MaxAgentsPerAddress > 0 && !(ip is not null && IPAddress.IsLoopback(ip));
        lock (_gate)
        {
            var onConnection = _perConnection.GetValueOrDefault(peer);
            var fromAddress = _perAddress.GetValueOrDefault(address);
            if (onConnection >= options.MaxAgentsPerConnection)
            {
                throw new AgentRefusedException(AgentRefusal.ConnectionLimit, StatusCode.ResourceExhausted, $"this HTTP/2 connection carries {onConnection} agent streams already (Tunnel:MaxAgentsPerConnection is {options.MaxAgentsPerConnection}); one agent needs one stream");
            }

            if (addressLimited && fromAddress >= options.MaxAgentsPerAddress)
            {
                throw new AgentRefusedException(AgentRefusal.AddressLimit, StatusCode.ResourceExhausted, $"{fromAddress} agent streams from {address} are open already (Tunnel:MaxAgentsPerAddress is {options.MaxAgentsPerAddress})");
            }

            _perConnection[peer] = onConnection + 1;
            _perAddress[address] = fromAddress + 1;
        }

        return new Lease(this, peer, address);
    }

    /// <summary>Streams counted now (tests: back to 0 once every stream ended).</summary>
    public int Open
    {
        get
        {
            lock (_gate)
            {
                return _perConnection.Values.Sum();
            }
        }
    }

    /// <summary>The peer's IP from gRPC's <c>ipv4:1.2.3.4:5</c> / <c>ipv6:[::1]:5</c>; null for another kind of peer.</summary>
    public static IPAddress? AddressOf(string peer)
    {
        var colon = peer.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && IPEndPoint.TryParse(Uri.UnescapeDataString(peer[(colon + 1)..]), out var endpoint) ? endpoint.Address : null;
    }

    private void Leave(string peer, string address)
    {
        lock (_gate)
        {
            Decrement(_perConnection, peer);
            Decrement(_perAddress, address);
        }
    }

    private static void Decrement(Dictionary<string, int> counts, string key)
    {
        if (counts.GetValueOrDefault(key) <= 1)
        {
            counts.Remove(key);
        }
        else
        {
            counts[key]--;
        }
    }

    private sealed class Lease(AgentStreamQuota quota, string peer, string address) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                quota.Leave(peer, address);
            }
        }
    }
}
