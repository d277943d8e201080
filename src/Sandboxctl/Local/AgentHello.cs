using System.Reflection;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>The Hello an agent opens each of its streams with: the protocol versions it speaks, who it is, and its session.</summary>
internal static class AgentHello
{
    /// <summary>Random per agent process, the same across its reconnects.</summary>
    private static readonly string SessionId = Guid.NewGuid().ToString("N");

    private static readonly string AgentVersion = typeof(AgentHello).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";

    /// <summary>The Hello for LocalWorkload <paramref name="ns"/>/<c>request.Name</c>, proving <paramref name="secret"/>.</summary>
    public static Hello For(LocalConnectRequest request, string ns, string secret) => new()
    {
        MinVersion = TunnelProtocol.Versions.Min,
        MaxVersion = TunnelProtocol.Versions.Max,
        AgentVersion = AgentVersion,
        Namespace = ns,
        LocalWorkload = request.Name,
        Secret = secret,
        InitialWindow = (uint)new TunnelLimits().ReceiveWindow,
        SessionId = SessionId,
    };
}
