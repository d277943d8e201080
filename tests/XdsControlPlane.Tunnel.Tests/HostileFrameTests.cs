using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// A peer that sends frames for connections that were never opened, by the hundred thousand: each is answered (a
/// Close) only up to the limit, the log gets a line per interval with a count instead of a line per frame, and past the
/// limit the stream ends with a status naming why — while below it the tunnel's connections keep working.
/// </summary>
public sealed class HostileFrameTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task HundredThousandFramesForUnknownIds_BoundedAnswersAndLogLines_ThenAFault()
    {
        var log = new CountingLogger();
        var limits = new TunnelLimits { MaxProtocolErrors = 1000 };
        await using var mux = new TunnelMultiplexer(TunnelSide.Broker, limits.ReceiveWindow, limits, NoDial, log, new FakeTimeProvider());

        for (var i = 0; i < 100_000; i++)
        {
            var id = 1_000_001UL + (2UL * (ulong)i);
            mux.Receive((i % 3) switch
            {
                0 => new Frame { Data = new Data { ConnectionId = id, Payload = Google.Protobuf.ByteString.CopyFromUtf8("junk") } },
                1 => new Frame { Window = new Window { ConnectionId = id, Increment = 5 } },
                _ => new Frame { Open = new Open { ConnectionId = id + 1, Port = 9 } },
            });
        }

        Assert.Multiple(() =>
        {
            Assert.That(mux.RefusedFrames, Is.EqualTo(100_000), "every refused frame is counted");
            Assert.That(mux.ControlQueued, Is.EqualTo(1000), "a Close for each up to the limit, none after");
            Assert.That(mux.ProtocolFault, Does.StartWith("the peer sent 1001 frames that break the tunnel protocol (limit 1000), the last: "));
            Assert.That(log.Lines, Has.Count.EqualTo(2), string.Join("\n", log.Lines));
            Assert.That(log.Lines[0], Is.EqualTo("Data frame for tunnel connection 1000001, which was never opened; told the peer"));
            Assert.That(log.Lines[1], Does.StartWith("Ending the tunnel stream: the peer sent 1001 frames"));
        });
    }

    [Test]
    public async Task RefusedFramesBelowTheLimit_OneLinePerIntervalWithACount()
    {
        var log = new CountingLogger();
        var clock = new FakeTimeProvider();
        var limits = new TunnelLimits { RefusedFrameLogInterval = TimeSpan.FromSeconds(10) };
        var mux = new TunnelMultiplexer(TunnelSide.Broker, limits.ReceiveWindow, limits, NoDial, log, clock);

        for (var i = 0; i < 300; i++)
        {
            if (i == 100)
            {
                clock.Advance(TimeSpan.FromSeconds(10));
            }

            mux.Receive(new Frame { Data = new Data { ConnectionId = 1_000_001UL + (2UL * (ulong)i) } });
        }

        await mux.DisposeAsync();

        Assert.That(mux.ProtocolFault, Is.Null);
        Assert.That(log.Lines, Is.EqualTo(new[]
        {
            "Data frame for tunnel connection 1000001, which was never opened; told the peer",
            "100 more tunnel frames refused in the last 10 s (each told the peer), the last: Data frame for tunnel connection 1000201, which was never opened",
            "199 more tunnel frames refused in the last 0 s (each told the peer), the last: Data frame for tunnel connection 1000599, which was never opened",
        }));
    }

    [Test]
    public async Task BrokerReader_PastTheLimit_EndsTheStreamWithInvalidArgumentNamingTheReason()
    {
        var limits = new TunnelLimits { MaxProtocolErrors = 10 };
        var options = new TunnelBrokerOptions { Limits = limits };
        await using var mux = new TunnelMultiplexer(TunnelSide.Broker, limits.ReceiveWindow, limits, NoDial, NullLogger.Instance);
        var claim = new WorkloadClaim("ns", "name", "key", null, "svc", [new ClaimedPort(80, "http")], "session", []);
        using var session = new TunnelSession(claim, mux, DateTimeOffset.UnixEpoch);
        var frames = Enumerable.Range(0, 100_000).Select(i => new Frame { Data = new Data { ConnectionId = 1_000_001UL + (2UL * (ulong)i) } });
        var reader = new AgentFrameReader(options, null!, TimeProvider.System, NullLogger.Instance);

        var ended = Assert.ThrowsAsync<RpcException>(() => reader.ReadAsync(new FrameSource(frames), session, mux.Primary, new StreamActivity(DateTimeOffset.UnixEpoch), CancellationToken.None).WaitAsync(Timeout))!;

        Assert.Multiple(() =>
        {
            Assert.That(ended.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(ended.Status.Detail, Does.StartWith("the peer sent 11 frames that break the tunnel protocol (limit 10), the last: Data frame for tunnel connection 1000021, which was never opened"));
            Assert.That(ended.Status.Detail, Does.EndWith("; ending the stream"));
            Assert.That(mux.RefusedFrames, Is.EqualTo(11), "the reader stopped at the frame past the limit");
        });
    }

    private static Task<System.Net.Sockets.Socket> NoDial(Open open, CancellationToken cancellationToken) =>
        throw new TunnelDialException(CloseReason.DialFailed, "no");

    /// <summary>Frames read from a stream, one after another.</summary>
    private sealed class FrameSource(IEnumerable<Frame> frames) : IAsyncStreamReader<Frame>
    {
        private readonly IEnumerator<Frame> _frames = frames.GetEnumerator();

        public Frame Current => _frames.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromResult(_frames.MoveNext());
    }

    /// <summary>Every line logged at Warning or above, formatted.</summary>
    private sealed class CountingLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
            {
                lock (Lines)
                {
                    Lines.Add(formatter(state, exception));
                }
            }
        }
    }
}
