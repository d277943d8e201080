namespace XdsControlPlane.Tunnel;

/// <summary>Which end of a tunnel stream a <see cref="TunnelMultiplexer"/> is; it decides the parity of the connection ids it opens.</summary>
public enum TunnelSide
{
    /// <summary>The broker: opens inbound connections, with even ids.</summary>
    Broker,

    /// <summary>The agent: opens outbound connections, with odd ids.</summary>
    Agent,
}
