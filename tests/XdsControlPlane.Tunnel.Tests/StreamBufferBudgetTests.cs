using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// The whole stream's buffer budget against a hostile peer that never reads the stream and fills the window of every
/// connection whose local reader does not read (real loopback sockets with small kernel buffers): what the side holds
/// never passes the budget, the connections past it end with <c>LIMIT</c> and free what they held, and a connection
/// whose reader keeps up still gets every byte.
/// </summary>
public sealed class StreamBufferBudgetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task PeerFillsTheWindowOfManyStalledConnections_HeldStaysWithinTheBudget_TheRestEndWithLimit()
    {
        const int window = 256 * 1024;
        const int budget = 4 * window;
        const int stalled = 10;
        var limits = new TunnelLimits { ReceiveWindow = window, StreamBufferBudget = budget };
        await using var broker = new TunnelMultiplexer(TunnelSide.Broker, window, limits, (_, _) => throw new TunnelDialException(CloseReason.Forbidden, "no"), NullLogger.Instance);
        var apps = new List<Socket>();
        try
        {
            // Data planes that connect and never read; the broker's ends send into small kernel buffers.
            for (var i = 0; i < stalled; i++)
            {
                apps.Add(await OpenAsync(broker, smallBuffers: true));
            }

            var reading = await OpenAsync(broker, smallBuffers: false);
            apps.Add(reading);

            // The hostile agent never reads the broker's frames and sends each stalled connection its whole window.
            var chunk = ByteString.CopyFrom(new byte[limits.MaxData]);
            var peak = 0L;
            for (var c = 0; c < stalled; c++)
            {
                for (var sent = 0; sent + chunk.Length <= window; sent += chunk.Length)
                {
                    Assert.That(broker.Receive(new Frame { Data = new Data { ConnectionId = 2UL + (2UL * (ulong)c), Payload = chunk } }), Is.True);
                    peak = Math.Max(peak, broker.BufferedBytes);
                }
            }

            // The connection whose reader keeps up still gets its bytes.
            var hello = ByteString.CopyFromUtf8("still carried");
            broker.Receive(new Frame { Data = new Data { ConnectionId = 2UL + (2UL * stalled), Payload = hello } });
            var buffer = new byte[64];
            var read = await reading.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Timeout);

            // What the broker would have sent, had the agent read.
            var closes = await QueuedClosesAsync(broker);
            Assert.Multiple(() =>
            {
                Assert.That(peak, Is.LessThanOrEqualTo(budget), "held bytes never pass the budget");
                Assert.That(broker.BufferedBytes, Is.LessThanOrEqualTo(budget));
                Assert.That(System.Text.Encoding.UTF8.GetString(buffer, 0, read), Is.EqualTo("still carried"));
                Assert.That(broker.ConnectionsOverBudget, Is.InRange(stalled - 5, stalled - 2), "about the budget's worth of windows is kept, the rest ended");
                Assert.That(closes, Has.Count.EqualTo(broker.ConnectionsOverBudget));
                Assert.That(closes.Select(c => c.Reason), Has.All.EqualTo(CloseReason.Limit));
                Assert.That(closes[0].Message, Does.Contain("buffer budget is spent").And.Contain($"of {budget} bytes"));
            });

            // An ended connection's app sees its socket reset, and what the connection held went back to the budget.
            await TunnelMultiplexerTests.Eventually(() => broker.OpenConnections == stalled + 1 - (int)broker.ConnectionsOverBudget, "the ended connections to go");
            Assert.That(broker.BufferedBytes, Is.LessThanOrEqualTo((stalled - broker.ConnectionsOverBudget) * (long)window));
        }
        finally
        {
            foreach (var app in apps)
            {
                app.Dispose();
            }
        }
    }

    [Test]
    public void Validate_BudgetBelowTheWindow_NamesTheField() =>
        Assert.That(new TunnelLimits { ReceiveWindow = 1024 * 1024, StreamBufferBudget = 1024 }.Validate(), Has.One.StartsWith("StreamBufferBudget must be between ReceiveWindow (1048576)"));

    private static async Task<Socket> OpenAsync(TunnelMultiplexer broker, bool smallBuffers)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var app = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (smallBuffers)
        {
            app.ReceiveBufferSize = 4096;
        }

        await app.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var accepted = await listener.AcceptSocketAsync();
        if (smallBuffers)
        {
            accepted.SendBufferSize = 4096;
        }

        Assert.That(broker.Open(accepted, new Open { Port = 8080, Peer = "test" }), Is.True);
        return app;
    }

    private static async Task<List<Close>> QueuedClosesAsync(TunnelMultiplexer broker)
    {
        var closes = new List<Close>();
        using var drained = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await broker.WriteFramesAsync(
                (frame, _) =>
                {
                    if (frame.FrameCase == Frame.FrameOneofCase.Close)
                    {
                        closes.Add(frame.Close);
                    }

                    return Task.CompletedTask;
                },
                drained.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return closes;
    }
}
