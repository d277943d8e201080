using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// One of the agent's HTTP/2 connections to the broker (its stream's, or a lane's): the broker's client on it and the
/// <see cref="BurstCork"/> of its socket, which the writer of the stream on it uses (null: sends are not held together);
/// for a lane, how to open a raw lane (<see cref="RawLane"/>) to the same broker instead, when the broker offers them.
/// </summary>
/// <param name="Client">The broker's client on this connection.</param>
/// <param name="Cork">The cork of the connection's socket, or null.</param>
/// <param name="OpenRaw">Opens a plain connection to the broker's tunnel port for a raw lane; null: lanes go over gRPC only (TLS to the broker, or an older caller).</param>
public sealed record AgentLink(TunnelBroker.TunnelBrokerClient Client, BurstCork? Cork, Func<CancellationToken, Task<Stream>>? OpenRaw = null);
