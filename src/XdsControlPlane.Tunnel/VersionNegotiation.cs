using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>Agrees with an agent on a tunnel protocol version: the highest both speak (<see cref="TunnelProtocol.Versions"/>).</summary>
internal static class VersionNegotiation
{
    /// <summary>The version for <paramref name="hello"/>; FailedPrecondition naming both ranges, and who should upgrade, when there is none.</summary>
    public static uint Negotiate(Hello hello)
    {
        var broker = TunnelProtocol.Versions;
        var agent = new TunnelVersions(hello.MinVersion, hello.MaxVersion);
        if (agent.HighestShared(broker) is { } version)
        {
            return version;
        }

        var upgrade = hello.MinVersion > broker.Max ? "upgrade the control plane or use an older sandboxctl" : "upgrade sandboxctl";
        throw new AgentRefusedException(AgentRefusal.ProtocolVersion, StatusCode.FailedPrecondition, $"the agent speaks tunnel protocol versions {hello.MinVersion}-{hello.MaxVersion}, this broker {broker.Min}-{broker.Max}: {upgrade}");
    }
}
