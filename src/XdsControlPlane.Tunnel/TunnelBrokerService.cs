using System.IO.Pipelines;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The tunnel broker's gRPC service, a thin adapter. <c>Describe</c> tells an agent what this broker is;
/// <c>Connect</c> has <see cref="AgentAdmission"/> count the stream against its connection's and address's limits, read
/// and check the agent's Hello (protocol version, shape, the client certificate's namespace with mTLS on, the registry's say), then a <see cref="BrokerStream"/> serve the stream: data planes that connect to a workload port are
/// opened to the agent; connections the agent opens go to the in-cluster Services the registry allows. Pings are
/// heartbeats; a goodbye withdraws the routes at once, a lost stream after the reconnect grace. Everything the agent
/// sends is checked: a bad Hello ends the call with a status naming the field, a bad frame closes only its connection.
/// </summary>
[BindServiceMethod(typeof(TunnelBrokerBinding), nameof(TunnelBrokerBinding.BindService))]
public sealed class TunnelBrokerService : TunnelBroker.TunnelBrokerBase
{
    private readonly TunnelBrokerOptions _options;
    private readonly ILocalWorkloadRegistry _registry;
    private readonly BrokerMetrics _metrics;
    private readonly AgentAdmission _admission;
    private readonly BrokerStream _streams;
    private readonly BrokerLane _lanes;

    /// <summary>
    /// A broker with <paramref name="options"/> serving the workloads of <paramref name="registry"/> through
    /// <paramref name="tunnels"/>, counting what it does in <paramref name="metrics"/>; with <paramref name="identity"/>
    /// (mTLS on its listener), each agent's client certificate is held against the workload its Hello claims.
    /// </summary>
    public TunnelBrokerService(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, WorkloadTunnels tunnels, BrokerMetrics metrics, TimeProvider clock, ILogger<TunnelBrokerService> logger, IAgentIdentityCheck? identity = null)
    {
        _options = options;
        _registry = registry;
        _metrics = metrics;
        _admission = new AgentAdmission(options, registry, identity, metrics, clock, logger);
        _streams = new BrokerStream(options, registry, tunnels, metrics, clock, logger);
        _lanes = new BrokerLane(options, registry, tunnels, clock, logger);
    }

    /// <summary>How long a raw lane's closing status may take to leave (a peer that reads nothing holds it no longer).</summary>
    private static readonly TimeSpan StatusWriteTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Agent streams open now, admitted or before their Hello (each counted against its connection's and address's limits).</summary>
    internal int OpenStreams => _admission.OpenStreams;

    /// <inheritdoc />
    public override Task<BrokerInfo> Describe(DescribeRequest request, ServerCallContext context) => Task.FromResult(new BrokerInfo
    {
        MinVersion = TunnelProtocol.Versions.Min,
        MaxVersion = TunnelProtocol.Versions.Max,
        BrokerVersion = BrokerStream.BrokerVersion,
        Replica = _options.Replica,
        Mode = _registry.Mode,
        TokenRequired = _registry.TokenRequired,
    });

    /// <inheritdoc />
    public override Task Connect(IAsyncStreamReader<Frame> requestStream, IServerStreamWriter<Frame> responseStream, ServerCallContext context) =>
        ConnectAsync(requestStream, responseStream, context, lanesOnly: false);

    /// <summary>
    /// Serves a raw lane (<see cref="RawLane"/>): a connection to the tunnel port that sent the raw lane's preface, whose
    /// records follow on <paramref name="input"/> (the preface read already), answered on <paramref name="output"/>. It is
    /// admitted as <c>Connect</c> admits a stream — counted against <paramref name="peer"/>'s connection and address,
    /// its Hello read within the timeout and checked, then joined to its session by the lane token — and carried until
    /// it or the session ends; it ends with a status record (a refusal's, or <c>OK</c>). Only a lane's Hello is taken:
    /// the agent's stream itself goes over gRPC. Returns when the lane is over; <paramref name="connectionClosed"/> ends it.
    /// </summary>
    public async Task ServeRawLaneAsync(PipeReader input, PipeWriter output, string peer, CancellationToken connectionClosed)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(peer);
        using var raw = _metrics.RawLaneOpened();
        var channel = new RawFrameChannel(input, output, statusExpected: false);
        Status ending;
        try
        {
            if (!_options.OffersRawLanes)
            {
                throw new RpcException(new Status(StatusCode.Unimplemented, "this broker offers no raw lanes (Tunnel:RawLanes is off, or the tunnel port serves TLS); open lanes over gRPC"));
            }

            await ConnectAsync(channel, channel, new RawLaneCallContext(peer, connectionClosed), lanesOnly: true).ConfigureAwait(false);
            ending = Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            ending = e.Status;
        }
        catch (Exception e) when (e is IOException || (e is OperationCanceledException && connectionClosed.IsCancellationRequested))
        {
            // The agent's connection went away.
            return;
        }

        try
        {
            // Not on connectionClosed: an agent that half-closed (its sending side done) still reads the status.
            using var sending = new CancellationTokenSource(StatusWriteTimeout);
            await channel.WriteStatusAsync(ending, sending.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            // Closed meanwhile: nobody is left to tell.
        }
    }

    private async Task ConnectAsync(IAsyncStreamReader<Frame> requestStream, IServerStreamWriter<Frame> responseStream, ServerCallContext context, bool lanesOnly)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        using var stream = _metrics.StreamOpened();
        using var counted = _admission.Enter(context.Peer);
        var agent = await _admission.AdmitAsync(requestStream, context, lanesOnly).ConfigureAwait(false);
        if (agent.Claim is { } claim)
        {
            await _streams.RunAsync(agent, claim, requestStream, responseStream, context.CancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await _lanes.RunAsync(agent, requestStream, responseStream, raw: lanesOnly, context.CancellationToken).ConfigureAwait(false);
        }
        catch (AgentRefusedException e)
        {
            throw _admission.Refused(e, context.Peer, agent.Hello);
        }
    }
}
