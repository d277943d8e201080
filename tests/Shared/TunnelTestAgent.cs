using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Testing;

/// <summary>
/// A minimal local-connect agent for broker tests, on the same multiplexer the real agent uses: connects over gRPC,
/// sends a Hello, pings, forwards the connections the broker opens to local ports, opens outbound connections, and
/// leaves with a goodbye or abruptly (as a killed process does). With lanes, it opens that many more streams (each on
/// a channel of its own, as sandboxctl does) once the broker offers them. Each channel's socket has a
/// <see cref="BurstCork"/> its stream's writer uses, as sandboxctl's do (unless told not to).
/// </summary>
internal sealed class TunnelTestAgent : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly GrpcChannel[] _laneChannels;
    private readonly AsyncDuplexStreamingCall<Frame, Frame> _call;
    private readonly BurstCork? _cork;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private readonly Task _lanes;

    private TunnelTestAgent((GrpcChannel Channel, BurstCork? Cork) primary, (GrpcChannel Channel, BurstCork? Cork)[] lanes, AsyncDuplexStreamingCall<Frame, Frame> call, Hello hello, Welcome welcome, TunnelMultiplexer multiplexer, Func<CancellationToken, Task<Stream>>? openRaw)
    {
        (_channel, _cork) = primary;
        _laneChannels = [.. lanes.Select(l => l.Channel)];
        Corks = [.. new[] { primary.Cork }.Concat(lanes.Select(l => l.Cork)).OfType<BurstCork>()];
        _call = call;
        Welcome = welcome;
        Multiplexer = multiplexer;
        _running = RunAsync(_stop.Token);
        _lanes = AgentLanes.RunAsync([.. lanes.Select(l => new AgentLink(TunnelCallInvoker.ClientFor(l.Channel), l.Cork, openRaw))], hello, welcome, multiplexer, _stop.Token);
    }

    /// <summary>What the broker answered.</summary>
    public Welcome Welcome { get; }

    /// <summary>The corks of the agent's connections (its stream's first, then the lanes'); none when made without.</summary>
    public IReadOnlyList<BurstCork> Corks { get; }

    /// <summary>The agent's side of the tunnel.</summary>
    public TunnelMultiplexer Multiplexer { get; }

    /// <summary>Frames the broker sent that the multiplexer does not handle (Pong, Close of unknown ids are handled; these are the rest).</summary>
    public List<Frame> Unhandled { get; } = [];

    /// <summary>Completes when the stream ended (with the broker's status, if it failed).</summary>
    public Task Ended => _running;

    /// <summary>A Hello for <paramref name="ns"/>/<paramref name="name"/> standing in for <paramref name="service"/>.</summary>
    public static Hello Hello(string ns, string name, string service, IEnumerable<int> ports, string? routingKey = null, string? sandbox = null, string session = "session-1", string secret = "")
    {
        var spec = new LocalWorkloadSpec { Service = service, RoutingKey = routingKey ?? "", Sandbox = sandbox ?? "" };
        spec.Ports.AddRange(ports.Select(p => (uint)p));
        return new Hello
        {
            MinVersion = TunnelProtocol.Versions.Min,
            MaxVersion = TunnelProtocol.Versions.Max,
            AgentVersion = "test",
            Namespace = ns,
            LocalWorkload = name,
            Secret = secret,
            SessionId = session,
            InitialWindow = (uint)new TunnelLimits().ReceiveWindow,
            Spec = spec,
        };
    }

    /// <summary>
    /// Connects to the broker on 127.0.0.1:<paramref name="brokerPort"/> with <paramref name="hello"/>; connections the
    /// broker opens for workload port P go to 127.0.0.1:<paramref name="localPorts"/>[P]. Throws the broker's
    /// <see cref="RpcException"/> when it refuses. <paramref name="lanes"/>: how many lanes to open when offered (at most <c>limits.MaxLanes</c>).
    /// <paramref name="tls"/>: TLS to a broker serving it (trusting its CA, with a client certificate or none); plaintext when null.
    /// <paramref name="cork"/>: whether each connection's writer holds a burst's sends together (<see cref="BurstCork"/>), as sandboxctl does.
    /// <paramref name="rawLanes"/>: whether lanes go as raw lanes (<see cref="RawLane"/>) when the broker offers them, as sandboxctl's do without TLS (then falling back to gRPC); off: gRPC lanes only.
    /// </summary>
    public static async Task<TunnelTestAgent> ConnectAsync(int brokerPort, Hello hello, IReadOnlyDictionary<int, int> localPorts, TunnelLimits? limits = null, CancellationToken cancellationToken = default, int lanes = 0, System.Net.Security.SslClientAuthenticationOptions? tls = null, bool cork = true, bool rawLanes = false)
    {
        (GrpcChannel Channel, BurstCork? Cork) Open()
        {
            var burstCork = cork ? new BurstCork() : null;
            var handler = TunnelHttp2.AgentHandler(burstCork);
            if (tls is not null)
            {
                handler.SslOptions = tls;
            }

            return (GrpcChannel.ForAddress($"{(tls is null ? "http" : "https")}://127.0.0.1:{brokerPort}", new GrpcChannelOptions { HttpHandler = handler }), burstCork);
        }

        var primary = Open();
        var channel = primary.Channel;
        var laneChannels = Enumerable.Range(0, lanes).Select(_ => Open()).ToArray();
        var call = TunnelCallInvoker.ClientFor(channel).Connect(cancellationToken: CancellationToken.None);
        try
        {
            await call.RequestStream.WriteAsync(new Frame { Hello = hello }, cancellationToken);
            if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.FrameCase != Frame.FrameOneofCase.Welcome)
            {
                throw new InvalidOperationException("the broker did not answer Welcome");
            }

            var welcome = call.ResponseStream.Current.Welcome;
            var multiplexer = new TunnelMultiplexer(TunnelSide.Agent, (int)welcome.InitialWindow, limits ?? new TunnelLimits(), (open, token) => DialAsync(localPorts, open, token), NullLogger.Instance);
            Func<CancellationToken, Task<Stream>>? openRaw = rawLanes && tls is null ? token => RawLane.ConnectAsync($"127.0.0.1:{brokerPort}", token) : null;
            return new TunnelTestAgent(primary, laneChannels, call, hello, welcome, multiplexer, openRaw);
        }
        catch
        {
            call.Dispose();
            channel.Dispose();
            foreach (var (lane, _) in laneChannels)
            {
                lane.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Opens an outbound connection to <paramref name="service"/>:<paramref name="port"/> through the tunnel, as an app on
    /// the laptop connecting to an exposed port does; returns the app's end.
    /// </summary>
    public async Task<Socket> OpenOutboundAsync(string service, int port, IByteTransform? transform = null)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var app = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await app.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var accepted = await listener.AcceptSocketAsync();
        Multiplexer.Open(accepted, new Open { TargetService = service, TargetPort = (uint)port }, transform);
        return app;
    }

    /// <summary>Sends a raw frame (tests of what the broker does with bad ones).</summary>
    public Task SendRawAsync(Frame frame)
    {
        Multiplexer.SendControl(frame);
        return Task.CompletedTask;
    }

    /// <summary>Says goodbye and waits for the broker to end the stream.</summary>
    public async Task GoodbyeAsync()
    {
        Multiplexer.SendControl(new Frame { Goodbye = new Goodbye { Reason = "test" } });
        await _running.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Drops the stream without a goodbye, as a killed agent does.</summary>
    public async Task AbortAsync()
    {
        _channel.Dispose();
        foreach (var lane in _laneChannels)
        {
            lane.Dispose();
        }

        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }

        await _lanes.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        await AbortAsync();
        await Multiplexer.DisposeAsync();
        _call.Dispose();
        _stop.Dispose();
    }

    private static async Task<Socket> DialAsync(IReadOnlyDictionary<int, int> localPorts, Open open, CancellationToken cancellationToken)
    {
        if (!localPorts.TryGetValue((int)open.Port, out var local))
        {
            throw new TunnelDialException(CloseReason.DialFailed, $"no local port for {open.Port}");
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, local), cancellationToken);
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            throw new TunnelDialException(CloseReason.DialFailed, $"nothing listens on localhost:{local}");
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writing = Multiplexer.WriteFramesAsync(_call.RequestStream, _cork, ended.Token);
        var pinging = PingAsync(ended.Token);
        try
        {
            while (await _call.ResponseStream.MoveNext(cancellationToken))
            {
                var frame = _call.ResponseStream.Current;
                if (!Multiplexer.Receive(frame))
                {
                    lock (Unhandled)
                    {
                        Unhandled.Add(frame);
                    }
                }
            }
        }
        finally
        {
            await ended.CancelAsync();
            await Multiplexer.DisposeAsync();
            try
            {
                await Task.WhenAll(writing, pinging);
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException or IOException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task PingAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(100, Welcome.PingIntervalMs)));
        ulong id = 0;
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            Multiplexer.SendControl(new Frame { Ping = new Ping { Id = ++id, SentUnixNanos = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000 } });
        }
    }
}
