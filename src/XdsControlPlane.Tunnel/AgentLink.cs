using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// One of the agent's HTTP/2 connections to the broker (its stream's, or a lane's): the broker's client on it and the
/// <see cref="BurstCork"/> of its socket, which the writer of the stream on it uses (null: sends are not held together).
/// </summary>
/// <param name="Client">The broker's client on this connection.</param>
/// <param name="Cork">The cork of the connection's socket, or null.</param>
public sealed record AgentLink(TunnelBroker.TunnelBrokerClient Client, BurstCork? Cork);
