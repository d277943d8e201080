using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// The laptop's agent in the bench process, on the multiplexer the real agent uses: sends a Hello carrying the
/// workload's spec (manifests mode), pings, and carries every connection the broker opens to the local service.
/// </summary>
internal sealed class BenchAgent : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<Frame, Frame> _call;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    private BenchAgent(GrpcChannel channel, AsyncDuplexStreamingCall<Frame, Frame> call, Welcome welcome, TunnelMultiplexer multiplexer)
    {
        (_channel, _call, Welcome, Multiplexer) = (channel, call, welcome, multiplexer);
        _running = RunAsync(_stop.Token);
    }

    /// <summary>What the broker answered.</summary>
    public Welcome Welcome { get; }

    /// <summary>The agent's side of the tunnel.</summary>
    public TunnelMultiplexer Multiplexer { get; }

    /// <summary>Where a client reaches workload port <paramref name="port"/> through the broker.</summary>
    public IPEndPoint BrokerEndPoint(int port)
    {
        var endpoint = Welcome.Endpoints.Single(e => e.Port == port);
        return new IPEndPoint(IPAddress.Parse(endpoint.Address), (int)endpoint.BrokerPort);
    }

    /// <summary>
    /// Connects to the broker on 127.0.0.1:<paramref name="brokerPort"/> as <paramref name="ns"/>/<paramref name="name"/>
    /// standing in for <paramref name="service"/>:<paramref name="port"/>; the broker's connections go to <paramref name="local"/>.
    /// The agent announces <paramref name="limits"/>' receive window (what the broker may send per connection before it grants more).
    /// </summary>
    public static async Task<BenchAgent> ConnectAsync(int brokerPort, string ns, string name, string service, int port, IPEndPoint local, TunnelLimits limits, CancellationToken cancellationToken)
    {
        var hello = new Hello
        {
            MinVersion = 1,
            MaxVersion = 1,
            AgentVersion = "tunnel-bench",
            Namespace = ns,
            LocalWorkload = name,
            SessionId = Guid.NewGuid().ToString("N"),
            InitialWindow = (uint)limits.ReceiveWindow,
            Spec = new LocalWorkloadSpec { Service = service, RoutingKey = "bench", Ports = { (uint)port } },
        };
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{brokerPort}");
        var call = new TunnelBroker.TunnelBrokerClient(channel).Connect(cancellationToken: CancellationToken.None);
        try
        {
            await call.RequestStream.WriteAsync(new Frame { Hello = hello }, cancellationToken);
            if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.FrameCase != Frame.FrameOneofCase.Welcome)
            {
                throw new InvalidOperationException("the broker did not answer Welcome");
            }

            var welcome = call.ResponseStream.Current.Welcome;
            var multiplexer = new TunnelMultiplexer(TunnelSide.Agent, (int)welcome.InitialWindow, limits, (_, token) => DialAsync(local, token), NullLogger.Instance);
            return new BenchAgent(channel, call, welcome, multiplexer);
        }
        catch
        {
            call.Dispose();
            channel.Dispose();
            throw;
        }
    }

    /// <summary>Says goodbye and waits (briefly) for the broker to end the stream.</summary>
    public async ValueTask DisposeAsync()
    {
        Multiplexer.SendControl(new Frame { Goodbye = new Goodbye { Reason = "bench over" } });
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is RpcException or TimeoutException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Leaving either way.
        }

        await _stop.CancelAsync();
        await Multiplexer.DisposeAsync();
        _call.Dispose();
        _channel.Dispose();
        _stop.Dispose();
    }

    private static async Task<Socket> DialAsync(IPEndPoint local, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(local, cancellationToken);
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            throw new TunnelDialException(CloseReason.DialFailed, $"nothing listens on {local}");
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writing = Multiplexer.WriteFramesAsync(
            (frame, more, token) =>
            {
                _call.RequestStream.WriteOptions = more ? new WriteOptions(WriteFlags.BufferHint) : null;
                return _call.RequestStream.WriteAsync(frame, token);
            },
            ended.Token);
        var pinging = PingAsync(ended.Token);
        try
        {
            while (await _call.ResponseStream.MoveNext(cancellationToken))
            {
                Multiplexer.Receive(_call.ResponseStream.Current);
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
                // The stream is over.
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
