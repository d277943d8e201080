using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>A broker side and an agent side wired back to back; frames go through their wire form.</summary>
internal sealed class TunnelPair : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly CancellationTokenSource _stop = new();
    private readonly TcpListener _laptop = new(IPAddress.Loopback, 0);
    private readonly Channel<Socket> _accepted = Channel.CreateUnbounded<Socket>();
    private Task[] _running = [];

    private TunnelPair(TunnelLimits limits, bool failDial)
    {
        _laptop.Start();
        Broker = new TunnelMultiplexer(TunnelSide.Broker, limits.ReceiveWindow, limits, (_, _) => throw new TunnelDialException(CloseReason.Forbidden, "no"), NullLogger.Instance);
        Agent = new TunnelMultiplexer(TunnelSide.Agent, limits.ReceiveWindow, limits, failDial ? FailAsync : DialLaptopAsync, NullLogger.Instance);
    }

    public event Action<Frame>? AgentSent;

    public TunnelMultiplexer Broker { get; }

    public TunnelMultiplexer Agent { get; }

    public static Task<TunnelPair> StartAsync(TunnelLimits? limits = null, bool failDial = false)
    {
        var pair = new TunnelPair(limits ?? new TunnelLimits(), failDial);
        pair._running =
        [
            pair.Broker.WriteFramesAsync((frame, _) => Deliver(pair.Agent, frame), pair._stop.Token),
            pair.Agent.WriteFramesAsync(
                (frame, _) =>
                {
                    pair.AgentSent?.Invoke(frame);
                    return Deliver(pair.Broker, frame);
                },
                pair._stop.Token),
            pair.AcceptLaptopAsync(),
        ];
        return Task.FromResult(pair);
    }

    /// <summary>A data plane's connection to the broker and the laptop's end of it.</summary>
    public async Task<(Socket App, Socket Laptop)> OpenAsync()
    {
        var app = await OpenAppOnlyAsync();
        var laptop = await _accepted.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        return (app, laptop);
    }

    public async Task<Socket> OpenAppOnlyAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var app = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await app.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        Broker.Open(await listener.AcceptSocketAsync(), new Open { Port = 8080, Peer = "test" });
        return app;
    }

    /// <summary>Adds a lane on both sides, wired back to back as the primary streams are.</summary>
    public (TunnelLane Broker, TunnelLane Agent) AddLane()
    {
        var broker = Broker.AddLane() ?? throw new InvalidOperationException("the broker has no lane free");
        var agent = Agent.AddLane() ?? throw new InvalidOperationException("the agent has no lane free");
        _running =
        [
            .. _running,
            broker.WriteFramesAsync((frame, _, _) => Deliver(agent, frame), _stop.Token),
            agent.WriteFramesAsync((frame, _, _) => Deliver(broker, frame), _stop.Token),
        ];
        return (broker, agent);
    }

    public void InjectIntoAgent(Frame frame) => Agent.Receive(Frame.Parser.ParseFrom(frame.ToByteArray()));

    public void InjectIntoBroker(Frame frame) => Broker.Receive(Frame.Parser.ParseFrom(frame.ToByteArray()));

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Agent.DisposeAsync();
        await _stop.CancelAsync();
        _laptop.Dispose();
        while (_accepted.Reader.TryRead(out var socket))
        {
            socket.Dispose();
        }

        try
        {
            await Task.WhenAll(_running);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private static Task Deliver(TunnelMultiplexer to, Frame frame) => Deliver(to.Primary, frame);

    private static Task Deliver(TunnelLane to, Frame frame)
    {
        to.Receive(Frame.Parser.ParseFrom(frame.ToByteArray()));
        return Task.CompletedTask;
    }

    private static Task<Socket> FailAsync(Open open, CancellationToken cancellationToken) =>
        throw new TunnelDialException(CloseReason.DialFailed, $"nothing listens on localhost:{open.Port}");

    private async Task<Socket> DialLaptopAsync(Open open, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync((IPEndPoint)_laptop.LocalEndpoint, cancellationToken);
            return socket;
        }
        catch
        {
            // As the agent's dial does: a dial given up (the stream gone) leaves no socket open.
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLaptopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            _accepted.Writer.TryWrite(await _laptop.AcceptSocketAsync(_stop.Token));
        }
    }
}
