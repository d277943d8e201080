using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.RegularExpressions;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The tunnel broker's gRPC service. <c>Connect</c>: reads the agent's Hello, agrees on a protocol version, has the
/// registry check that the agent may act for the workload, attaches the stream to the workload's listeners, tells the
/// registry where the workload is reached (its routes follow), answers Welcome, then carries connections both ways:
/// data planes that connect to a workload port are opened to the agent; connections the agent opens go to the
/// in-cluster Services the registry allows. Pings are heartbeats; a goodbye withdraws the routes at once, a lost stream
/// after the reconnect grace. Everything the agent sends is checked: a bad Hello ends the call with a status naming the
/// field, a bad frame closes only its connection.
/// </summary>
public sealed partial class TunnelBrokerService(
    TunnelBrokerOptions options,
    ILocalWorkloadRegistry registry,
    WorkloadTunnels tunnels,
    TimeProvider clock,
    ILogger<TunnelBrokerService> logger) : TunnelBroker.TunnelBrokerBase
{
    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);

    private static readonly string BrokerVersion = typeof(TunnelBrokerService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    /// <inheritdoc />
    public override Task<BrokerInfo> Describe(DescribeRequest request, ServerCallContext context) => Task.FromResult(new BrokerInfo
    {
        MinVersion = TunnelBrokerOptions.MinVersion,
        MaxVersion = TunnelBrokerOptions.MaxVersion,
        BrokerVersion = BrokerVersion,
        Replica = options.Replica,
        Mode = registry.Mode,
        TokenRequired = registry.TokenRequired,
    });

    /// <inheritdoc />
    public override async Task Connect(IAsyncStreamReader<Frame> requestStream, IServerStreamWriter<Frame> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var cancellationToken = context.CancellationToken;
        var hello = await ReadHelloAsync(requestStream, cancellationToken).ConfigureAwait(false);
        uint version;
        WorkloadClaim claim;
        try
        {
            version = Negotiate(hello);
            Check(hello);
            claim = await registry.ClaimAsync(hello, PeerAddress(context.Peer), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            var workload = $"{Shorten(hello.Namespace)}/{Shorten(hello.LocalWorkload)}";
            BrokerLog.AgentRefused(logger, workload, e.StatusCode, e.Status.Detail);
            throw;
        }

        var multiplexer = new TunnelMultiplexer(TunnelSide.Broker, (int)hello.InitialWindow, options.Limits, (open, token) => DialOutboundAsync(claim, open, token), logger);
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
                BrokerLog.AgentRefused(logger, claim.Key, e.StatusCode, e.Status.Detail);
                throw;
            }

            var placement = new TunnelPlacement(options.Replica, options.AdvertiseAddress, tunnel.Endpoints, session.ConnectedAt);
            await registry.ConnectedAsync(claim, placement, cancellationToken).ConfigureAwait(false);
            var welcome = new Welcome
            {
                Version = version,
                BrokerVersion = BrokerVersion,
                Replica = options.Replica,
                RoutingKey = claim.RoutingKey,
                InitialWindow = (uint)options.Limits.ReceiveWindow,
                MaxData = (uint)options.Limits.MaxData,
                PingIntervalMs = (uint)options.PingInterval.TotalMilliseconds,
            };
            welcome.Endpoints.AddRange(placement.Ports.Select(p => new WorkloadEndpoint
            {
                Port = (uint)p.Port,
                Address = placement.Address,
                BrokerPort = (uint)p.BrokerPort,
                Protocol = claim.Ports.First(c => c.Port == p.Port).Protocol,
            }));
            await responseStream.WriteAsync(new Frame { Welcome = welcome }, cancellationToken).ConfigureAwait(false);
            var ports = string.Join(",", placement.Ports.Select(p => $"{p.Port}->{placement.Address}:{p.BrokerPort}"));
            BrokerLog.AgentConnected(logger, claim.Key, hello.AgentVersion, version, ports);

            using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Ended);
            var writing = multiplexer.WriteFramesAsync(
                (frame, more, token) =>
                {
                    responseStream.WriteOptions = more ? BufferedWrite : null;
                    return responseStream.WriteAsync(frame, token);
                },
                running.Token);
            var activity = new StreamActivity(clock.GetUtcNow());
            var heartbeats = HeartbeatAsync(session, activity, running.Token);
            try
            {
                await ReadAsync(requestStream, session, activity, running.Token).ConfigureAwait(false);
                goodbye = session.SaidGoodbye;
            }
            finally
            {
                await running.CancelAsync().ConfigureAwait(false);
                await Quietly(writing).ConfigureAwait(false);
                await Quietly(heartbeats).ConfigureAwait(false);
            }

            BrokerLog.AgentDisconnected(logger, claim.Key, goodbye ? "goodbye" : session.EndReason ?? "stream ended", multiplexer.ConnectionsOpened, multiplexer.BytesReceived, multiplexer.BytesSent);
        }
        finally
        {
            await multiplexer.DisposeAsync().ConfigureAwait(false);
            if (tunnel is not null)
            {
                await tunnels.DetachAsync(tunnel, session, goodbye).ConfigureAwait(false);
            }
        }
    }

    private async Task<Hello> ReadHelloAsync(IAsyncStreamReader<Frame> requests, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HelloTimeout);
        try
        {
            if (!await requests.MoveNext(timeout.Token).ConfigureAwait(false))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "the stream ended before the agent's Hello"));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"no Hello within {options.HelloTimeout.TotalSeconds:0.#} s"));
        }

        return requests.Current.FrameCase == Frame.FrameOneofCase.Hello
            ? requests.Current.Hello
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"the first frame must be Hello, got {requests.Current.FrameCase}"));
    }

    /// <summary>The highest version both speak; FailedPrecondition naming both ranges when there is none.</summary>
    private static uint Negotiate(Hello hello)
    {
        var highest = Math.Min(hello.MaxVersion, TunnelBrokerOptions.MaxVersion);
        if (hello.MinVersion > hello.MaxVersion || highest < Math.Max(hello.MinVersion, TunnelBrokerOptions.MinVersion))
        {
            var upgrade = hello.MinVersion > TunnelBrokerOptions.MaxVersion ? "upgrade the control plane or use an older sandboxctl" : "upgrade sandboxctl";
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"the agent speaks tunnel protocol versions {hello.MinVersion}-{hello.MaxVersion}, this broker {TunnelBrokerOptions.MinVersion}-{TunnelBrokerOptions.MaxVersion}: {upgrade}"));
        }

        return highest;
    }

    /// <summary>The shape of a Hello, before anyone looks it up: each problem names the field.</summary>
    private static void Check(Hello hello)
    {
        static void Fail(string field, string reason) => throw new RpcException(new Status(StatusCode.InvalidArgument, $"Hello.{field}: {reason}"));
        if (!DnsLabel().IsMatch(hello.Namespace))
        {
            Fail("namespace", $"'{Shorten(hello.Namespace)}' is not a namespace name (a DNS label)");
        }

        if (!DnsLabel().IsMatch(hello.LocalWorkload))
        {
            Fail("local_workload", $"'{Shorten(hello.LocalWorkload)}' is not a LocalWorkload name (a DNS label)");
        }

        if (hello.Secret.Length > 512)
        {
            Fail("secret", "longer than 512 characters");
        }

        if (hello.SessionId.Length is 0 or > 64)
        {
            Fail("session_id", "must be 1-64 characters");
        }

        if (hello.InitialWindow is < 1024 or > TunnelLimits.MaxWindow)
        {
            Fail("initial_window", $"must be between 1024 and {TunnelLimits.MaxWindow} bytes, got {hello.InitialWindow}");
        }

        if (hello.Spec is { } spec && (spec.Ports.Count > 64 || spec.Ports.Any(p => p is < 1 or > 65535) || spec.Expose.Count > 64))
        {
            Fail("spec", "at most 64 ports (each 1-65535) and 64 expose targets");
        }
    }

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";

    /// <summary>
    /// Reads frames until the stream ends. After the agent's goodbye its routes are withdrawn at once, and the stream
    /// keeps carrying for <see cref="TunnelBrokerOptions.GoodbyeDrain"/> — while the data planes move to the baseline,
    /// requests already on their way still reach the laptop instead of failing — then the broker ends it.
    /// </summary>
    private async Task ReadAsync(IAsyncStreamReader<Frame> requests, TunnelSession session, StreamActivity activity, CancellationToken cancellationToken)
    {
        var multiplexer = session.Multiplexer;
        try
        {
            while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var frame = requests.Current;
                activity.Heard(clock.GetUtcNow());
                if (multiplexer.ControlQueued > multiplexer.MaxControlQueued)
                {
                    // Every frame may need an answer; an agent that sends and never reads would grow them without bound.
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the agent does not read the broker's frames ({multiplexer.ControlQueued} answers waiting); ending the stream"));
                }

                if (multiplexer.Receive(frame))
                {
                    continue;
                }

                switch (frame.FrameCase)
                {
                    case Frame.FrameOneofCase.Ping:
                        activity.Pinged(clock.GetUtcNow());
                        multiplexer.SendControl(new Frame { Pong = new Pong { Id = frame.Ping.Id, PingSentUnixNanos = frame.Ping.SentUnixNanos, OpenConnections = (uint)multiplexer.OpenConnections } });
                        break;
                    case Frame.FrameOneofCase.Goodbye when !session.SaidGoodbye:
                        session.SaidGoodbye = true;
                        _ = DrainAsync(session);
                        break;
                    case Frame.FrameOneofCase.Hello or Frame.FrameOneofCase.Welcome:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, $"{frame.FrameCase} is only the first frame of a stream"));
                    default:
                        // A frame of a newer protocol version (or a Pong): ignored, as the protocol says.
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
            // The agent's connection went away.
        }
    }

    private async Task DrainAsync(TunnelSession session)
    {
        try
        {
            await registry.ReleasedAsync(session.Claim, goodbye: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            BrokerLog.ReleaseFailed(logger, session.Claim.Key, e.Message);
        }

        await Task.Delay(options.GoodbyeDrain, clock, CancellationToken.None).ConfigureAwait(false);
        session.End("goodbye");
    }

    /// <summary>Writes heartbeats while pings arrive; ends a stream that fell silent.</summary>
    private async Task HeartbeatAsync(TunnelSession session, StreamActivity activity, CancellationToken cancellationToken)
    {
        // The Connected write carried the first heartbeat.
        var written = activity.LastPing;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            var now = clock.GetUtcNow();
            if (now - activity.LastHeard > options.SilenceTimeout)
            {
                session.End($"no frame for {options.SilenceTimeout.TotalSeconds:0} s");
                return;
            }

            var pinged = activity.LastPing;
            if (pinged > written && now - written >= options.HeartbeatWriteInterval)
            {
                try
                {
                    if (!await registry.HeartbeatAsync(session.Claim, pinged, cancellationToken).ConfigureAwait(false))
                    {
                        session.End("the LocalWorkload is no longer this agent's (taken over, or held by another replica)");
                        return;
                    }

                    written = pinged;
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    BrokerLog.HeartbeatFailed(logger, session.Claim.Key, e.Message);
                }
            }
        }
    }

    private async Task<Socket> DialOutboundAsync(WorkloadClaim claim, Open open, CancellationToken cancellationToken)
    {
        if (open.TargetService.Length == 0 || open.TargetPort is < 1 or > 65535)
        {
            throw new TunnelDialException(CloseReason.Forbidden, "an agent opens only outbound connections, which name target_service and target_port (1-65535)");
        }

        var target = $"{open.TargetService}:{open.TargetPort}";
        var endpoint = await registry.ResolveOutboundAsync(claim, open.TargetService, (int)open.TargetPort, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new TunnelDialException(CloseReason.DialFailed, $"{target} ({endpoint}): {e.Message}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The peer's IP from gRPC's <c>ipv4:1.2.3.4:5</c> / <c>ipv6:[::1]:5</c>.</summary>
    private static IPAddress? PeerAddress(string peer)
    {
        var colon = peer.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && IPEndPoint.TryParse(Uri.UnescapeDataString(peer[(colon + 1)..]), out var endpoint) ? endpoint.Address : null;
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

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    /// <summary>When the stream was last heard from, and last pinged.</summary>
    private sealed class StreamActivity(DateTimeOffset start)
    {
        private long _heard = start.UtcTicks;
        private long _pinged = start.UtcTicks;

        public DateTimeOffset LastHeard => new(Interlocked.Read(ref _heard), TimeSpan.Zero);

        public DateTimeOffset LastPing => new(Interlocked.Read(ref _pinged), TimeSpan.Zero);

        public void Heard(DateTimeOffset at) => Interlocked.Exchange(ref _heard, at.UtcTicks);

        public void Pinged(DateTimeOffset at) => Interlocked.Exchange(ref _pinged, at.UtcTicks);
    }
}
