using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// Keeps an agent's tunnel up: runs one <see cref="AgentStream"/> after another with the same Hello (the same
/// LocalWorkload, secret and session id, so the routing key and routes stay), waiting a jittered exponential backoff
/// between attempts and saying so. The backoff starts over only after a session proved healthy (it stayed up
/// <see cref="HealthyAfter"/> or carried tunnelled bytes): a broker that welcomes and drops at once is redialled ever
/// more slowly. A status the broker refuses with ends the agent loudly; before the first Welcome only a few attempts
/// are made, so an unreachable broker fails fast. Stopped while it has no stream, it still says Goodbye with one short
/// attempt (<see cref="AgentFarewell"/>). Meanwhile it reports the live status every second.
/// </summary>
internal sealed class ReconnectingAgent(AgentStream stream, AgentFarewell farewell, AgentStatus status, AgentReporter reporter, RetryBackoff backoff, Action<AgentSnapshot> onTick)
{
    /// <summary>Attempts before the first Welcome (the first included).</summary>
    public const int StartupAttempts = 3;

    /// <summary>The default of <see cref="HealthyAfter"/>.</summary>
    public static readonly TimeSpan DefaultHealthyAfter = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    /// <summary>The broker's address, for messages.</summary>
    public required string Broker { get; init; }

    /// <summary><c>namespace/name</c> of the LocalWorkload, for messages.</summary>
    public required string Workload { get; init; }

    /// <summary>Whether the broker keeps workloads in memory (manifests mode), for hints.</summary>
    public required bool ManifestsMode { get; init; }

    /// <summary>How long a welcomed stream must stay up (unless it carried bytes) for the backoff to start over.</summary>
    public TimeSpan HealthyAfter { get; init; } = DefaultHealthyAfter;

    /// <summary>Whether the broker said another agent holds the LocalWorkload now (so this one must not delete it).</summary>
    public bool LostWorkload { get; private set; }

    /// <summary>Whether the agent stopped with a goodbye on a live stream (the broker withdrew the routes then).</summary>
    public bool SaidGoodbye { get; private set; }

    /// <summary>Runs until <paramref name="stop"/> fires (returns after Goodbye) or the broker refuses the agent (throws a <see cref="CliException"/>).</summary>
    public async Task RunAsync(Hello hello, LocalDial dial, IReadOnlyList<ExposedListener> exposed, CancellationToken stop)
    {
        using var ticking = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var ticker = TickAsync(ticking.Token);
        try
        {
            await LoopAsync(hello, dial, exposed, stop).ConfigureAwait(false);
            if (!SaidGoodbye && status.Connections > 0)
            {
                // Stopped between streams: the broker still holds the routes for its grace unless told otherwise.
                SaidGoodbye = await farewell.SayAsync(hello, "the developer stopped sandboxctl local connect while it was reconnecting").ConfigureAwait(false);
            }
        }
        finally
        {
            await ticking.CancelAsync().ConfigureAwait(false);
            await ticker.ConfigureAwait(false);
        }
    }

    private async Task LoopAsync(Hello hello, LocalDial dial, IReadOnlyList<ExposedListener> exposed, CancellationToken stop)
    {
        var attempt = 0;
        while (true)
        {
            var welcomedBefore = status.Connections;
            var lostBefore = status.ConnectionsLost;
            var carriedBefore = status.Snapshot() is { } before ? before.BytesIn + before.BytesOut : 0;
            string reason;
            try
            {
                var end = await stream.RunAsync(hello, dial, exposed, Workload, stop).ConfigureAwait(false);
                if (end == StreamEnd.Stopped || stop.IsCancellationRequested)
                {
                    SaidGoodbye = end == StreamEnd.Stopped;
                    return;
                }

                reason = end.Reason;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (stop.IsCancellationRequested && e.StatusCode == StatusCode.Cancelled)
            {
                return;
            }
            catch (RpcException e) when (BrokerRefusal.IsRetryable(e.StatusCode))
            {
                reason = e.Status.Detail is { Length: > 0 } detail ? detail : e.StatusCode.ToString();
            }
            catch (RpcException e)
            {
                LostWorkload = e.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.AlreadyExists;
                throw BrokerRefusal.ToCliException(e, Broker, Workload, ManifestsMode);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException or HttpRequestException)
            {
                // The transport went away mid-write ("the call is complete") or mid-read: reconnect.
                reason = e.Message;
            }

            var carried = status.Snapshot() is { } after && after.BytesIn + after.BytesOut > carriedBefore;
            var healthy = status.Connections > welcomedBefore && (carried || status.LastSessionLength >= HealthyAfter);
            attempt = healthy ? 1 : attempt + 1;
            if (status.Connections == 0 && attempt >= StartupAttempts)
            {
                throw new CliException(
                    $"cannot connect to the tunnel broker at {Broker}: {reason}",
                    "Check that the control plane runs with its tunnel port open (--tunnel-port, default 18001) and that --server names it.",
                    ExitCodes.ConnectionError);
            }

            var delay = backoff.Delay(attempt);
            reporter.Reconnecting(attempt, delay, reason, status.ConnectionsLost - lostBefore, status.ConnectionsLost);
            try
            {
                await Task.Delay(delay, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Tick);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var snapshot = status.Snapshot();
                if (snapshot.ConnectedSince is not null)
                {
                    reporter.Status(snapshot);
                }

                onTick(snapshot);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
