using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;
using XdsControlPlane.Xds.Resources;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// What the broker admitted: the agent's Hello, the protocol version agreed on and the workload the registry let it
/// serve — or, for a lane's Hello (<c>lane_token</c> set), no claim: <see cref="BrokerLane"/> checks it against the attached stream.
/// </summary>
internal sealed record AdmittedAgent(Hello Hello, uint Version, WorkloadClaim? Claim);

/// <summary>
/// Decides whether an agent's stream is let in: counts it against its connection's and address's limits
/// (<see cref="AgentStreamQuota"/>), reads its Hello (within <see cref="TunnelBrokerOptions.HelloTimeout"/>), agrees on a
/// protocol version, checks the Hello's shape, holds the agent's client certificate against the workload it claims
/// (<see cref="IAgentIdentityCheck"/>, with mTLS on) and has the registry check that the agent may act for the workload. A
/// refusal is the <see cref="RpcException"/> the call ends with — counted by <see cref="AgentRefusal"/>, logged within a
/// <see cref="RefusalLogBudget"/>, and with
/// any client text in it printable and cut short.
/// </summary>
internal sealed class AgentAdmission(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, IAgentIdentityCheck? identity, BrokerMetrics metrics, TimeProvider clock, ILogger logger)
{
    /// <summary>The most characters of a refusal's message sent back or logged.</summary>
    private const int MaxMessageLength = 512;

    private readonly AgentStreamQuota _quota = new(options);
    private readonly RefusalLogBudget _logBudget = new(clock);

    /// <summary>Agent streams counted against the limits now.</summary>
    public int OpenStreams => _quota.Open;

    /// <summary>Counts the stream from gRPC peer <paramref name="peer"/> until the result is disposed; throws the refusal beyond a limit.</summary>
    public IDisposable Enter(string peer)
    {
        try
        {
            return _quota.Enter(peer);
        }
        catch (RpcException e)
        {
            throw Refused(e, peer, hello: null);
        }
    }

    /// <summary>
    /// Admits the agent of <paramref name="requests"/>, the call of <paramref name="context"/>; with
    /// <paramref name="lanesOnly"/> (a raw lane's connection, <see cref="RawLane"/>) only a lane's Hello, before anything is claimed.
    /// </summary>
    public async Task<AdmittedAgent> AdmitAsync(IAsyncStreamReader<Frame> requests, ServerCallContext context, bool lanesOnly = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        var peer = context.Peer;
        var cancellationToken = context.CancellationToken;
        Hello? hello = null;
        try
        {
            hello = await ReadHelloAsync(requests, cancellationToken).ConfigureAwait(false);
            var version = VersionNegotiation.Negotiate(hello);
            HelloValidator.Check(hello);
            if (identity?.Refusal(hello, context) is { } refusal)
            {
                throw new AgentRefusedException(AgentRefusal.Identity, StatusCode.PermissionDenied, refusal);
            }

            if (lanesOnly && hello.LaneToken.Length == 0)
            {
                throw new AgentRefusedException(AgentRefusal.BadHello, StatusCode.InvalidArgument, "Hello.lane_token: a raw lane's connection carries a lane of an attached session only; the agent's stream itself goes over gRPC");
            }

            if (hello.LaneToken.Length > 0)
            {
                HelloValidator.CheckLane(hello, version);
                return new AdmittedAgent(hello, version, null);
            }

            var claim = await registry.ClaimAsync(hello, AgentStreamQuota.AddressOf(peer), cancellationToken).ConfigureAwait(false);
            return new AdmittedAgent(hello, version, claim);
        }
        catch (RpcException e)
        {
            throw Refused(e, peer, hello);
        }
    }

    /// <summary>
    /// Logs and counts <paramref name="refusal"/> of the agent at <paramref name="peer"/> (of <paramref name="hello"/>'s
    /// workload, once it is known); returns what to end the call with: the same status, its message printable and capped.
    /// </summary>
    public RpcException Refused(RpcException refusal, string peer, Hello? hello)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        var reason = AgentRefusedException.ReasonOf(refusal);
        metrics.Refused(reason);
        var message = ClientText.OneLine(refusal.Status.Detail, MaxMessageLength);

        // Counted always, logged within the budget: a client refused in a loop would fill the log.
        if (_logBudget.TryTake(reason, out var leftOut))
        {
            if (leftOut > 0)
            {
                BrokerLog.RefusalsLeftOut(logger, leftOut, reason, RefusalLogBudget.Window.TotalSeconds);
            }

            if (hello is null)
            {
                BrokerLog.StreamRefused(logger, peer, refusal.StatusCode, message);
            }
            else
            {
                BrokerLog.AgentRefused(logger, new HelloWorkload(hello), refusal.StatusCode, message);
            }
        }

        return message == refusal.Status.Detail ? refusal : new RpcException(new Status(refusal.StatusCode, message));
    }

    private async Task<Hello> ReadHelloAsync(IAsyncStreamReader<Frame> requests, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HelloTimeout);
        try
        {
            if (!await requests.MoveNext(timeout.Token).ConfigureAwait(false))
            {
                throw new AgentRefusedException(AgentRefusal.BadHello, StatusCode.InvalidArgument, "the stream ended before the agent's Hello");
            }
        }
        catch (IOException)
        {
            // The agent reset the stream or its connection went away (Kestrel fails the read before it cancels the call).
            throw new AgentRefusedException(AgentRefusal.BadHello, StatusCode.InvalidArgument, "the stream ended before the agent's Hello");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentRefusedException(AgentRefusal.HelloTimeout, StatusCode.DeadlineExceeded, $"no Hello within {options.HelloTimeout.TotalSeconds:0.###} s");
        }

        return requests.Current.FrameCase == Frame.FrameOneofCase.Hello
            ? requests.Current.Hello
            : throw new AgentRefusedException(AgentRefusal.BadHello, StatusCode.InvalidArgument, $"the first frame must be Hello, got {requests.Current.FrameCase}");
    }
}
