using System.Reflection;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Serves one admitted agent's stream: attaches it to the workload's listeners, tells the registry where the workload
/// is reached (its routes follow), answers Welcome, then carries connections both ways until the stream ends — the
/// frames read by an <see cref="AgentFrameReader"/>, written by the multiplexer (the stream's one writer), watched by a
/// <see cref="SessionHeartbeat"/> — and detaches it (a goodbye withdraws the workload now, a lost stream after the grace).
/// </summary>
internal sealed class BrokerStream(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, WorkloadTunnels tunnels, BrokerMetrics metrics, TimeProvider clock, ILogger logger)
{
    /// <summary>This broker's build, as Describe and Welcome tell agents.</summary>
    public static readonly string BrokerVersion = typeof(BrokerStream).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    private readonly AgentFrameReader _reader = new(options, registry, clock, logger);
    private readonly SessionHeartbeat _heartbeat = new(options, registry, clock, logger);

    /// <summary>Serves <paramref name="agent"/> on <paramref name="requests"/> / <paramref name="responses"/> until the stream ends.</summary>
    public async Task RunAsync(AdmittedAgent agent, WorkloadClaim claim, IAsyncStreamReader<Frame> requests, IServerStreamWriter<Frame> responses, CancellationToken cancellationToken)
    {
        var dialer = new OutboundDialer(registry, claim);
        var multiplexer = new TunnelMultiplexer(TunnelSide.Broker, (int)agent.Hello.InitialWindow, options.Limits, dialer.DialAsync, logger);
        using var session = new TunnelSession(claim, multiplexer, clock.GetUtcNow());
        var goodbye = false;
        WorkloadTunnel? tunnel = null;
        try
        {
            try
            {
                tunnel = tunnels.Attach(session);
            }
            catch (RpcException e)
            {
                metrics.Refused(AgentRefusedException.ReasonOf(e));
                BrokerLog.AgentRefused(logger, claim.Key, e.StatusCode, e.Status.Detail);
                throw;
            }

            using var attached = metrics.Attached(multiplexer);
            var placement = new TunnelPlacement(options.Replica, options.AdvertiseAddress, tunnel.Endpoints, session.ConnectedAt);
            await registry.ConnectedAsync(claim, placement, cancellationToken).ConfigureAwait(false);
            await responses.WriteAsync(new Frame { Welcome = Welcome(agent, claim, session, placement) }, cancellationToken).ConfigureAwait(false);
            var ports = string.Join(",", placement.Ports.Select(p => $"{p.Port}->{placement.Address}:{p.BrokerPort}"));
            BrokerLog.AgentConnected(logger, claim.Key, agent.Hello.AgentVersion, agent.Version, ports);
            try
            {
                goodbye = await CarryAsync(requests, responses, session, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                // The broker ends the stream of an agent that breaks the protocol or never reads (the status says why):
                // said here, once per stream, as gRPC's own per-call lines are below the host's level.
                BrokerLog.AgentStreamEnded(logger, claim.Key, e.StatusCode, e.Status.Detail, multiplexer.ConnectionsOpened, multiplexer.BytesReceived, multiplexer.BytesSent);
                throw;
            }

            BrokerLog.AgentDisconnected(logger, claim.Key, goodbye ? "goodbye" : session.EndReason ?? "stream ended", multiplexer.ConnectionsOpened, multiplexer.BytesReceived, multiplexer.BytesSent);
        }
        finally
        {
            // The session's lanes end with it.
            session.End("the agent's stream ended");
            await multiplexer.DisposeAsync().ConfigureAwait(false);
            if (tunnel is not null)
            {
                await tunnels.DetachAsync(tunnel, session, goodbye).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Carries frames both ways until the stream ends or the broker ends the session; true when the agent said goodbye.</summary>
    private async Task<bool> CarryAsync(IAsyncStreamReader<Frame> requests, IServerStreamWriter<Frame> responses, TunnelSession session, CancellationToken cancellationToken)
    {
        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Ended);
        var writing = session.Multiplexer.WriteFramesAsync(responses, running.Token);
        var activity = new StreamActivity(clock.GetUtcNow());
        var heartbeats = _heartbeat.RunAsync(session, activity, running.Token);
        try
        {
            await _reader.ReadAsync(requests, session, session.Multiplexer.Primary, activity, running.Token).ConfigureAwait(false);
            return session.SaidGoodbye;
        }
        finally
        {
            await running.CancelAsync().ConfigureAwait(false);
            await Quietly(writing).ConfigureAwait(false);
            await Quietly(heartbeats).ConfigureAwait(false);
        }
    }

    private Welcome Welcome(AdmittedAgent agent, WorkloadClaim claim, TunnelSession session, TunnelPlacement placement)
    {
        var welcome = new Welcome
        {
            Version = agent.Version,
            BrokerVersion = BrokerVersion,
            Replica = options.Replica,
            RoutingKey = claim.RoutingKey,
            InitialWindow = (uint)options.Limits.ReceiveWindow,
            MaxData = (uint)options.Limits.MaxData,
            PingIntervalMs = (uint)options.PingInterval.TotalMilliseconds,
            ReconnectGraceMs = (uint)options.ReconnectGrace.TotalMilliseconds,
        };
        if (agent.Version >= TunnelProtocol.LanesVersion && options.Limits.MaxLanes > 0)
        {
            welcome.MaxLanes = (uint)options.Limits.MaxLanes;
            welcome.LaneToken = Google.Protobuf.ByteString.CopyFrom(session.LaneToken);
            welcome.RawLanes = options.OffersRawLanes;
        }

        welcome.Endpoints.AddRange(placement.Ports.Select(p => new WorkloadEndpoint
        {
            Port = (uint)p.Port,
            Address = placement.Address,
            BrokerPort = (uint)p.BrokerPort,
            Protocol = claim.Ports.First(c => c.Port == p.Port).Protocol,
        }));
        welcome.Previews.AddRange(claim.Previews.Select(p => new PreviewEndpoint { Port = (uint)p.Port, Access = p.Access, Url = p.Url ?? "" }));
        return welcome;
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or RpcException)
        {
            // The stream is over.
        }
    }
}
