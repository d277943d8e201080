using System.Collections.Concurrent;

namespace XdsControlPlane.Xds;

/// <summary>
/// Bounds the log lines a client's behaviour can cause (NACKs, invalid or malformed requests, oversized requests): per
/// kind, at most <see cref="XdsServerOptions.ClientLogLines"/> lines per <see cref="XdsServerOptions.ClientLogInterval"/>.
/// Lines over the budget are counted (<c>xds_client_log_lines_suppressed_total</c>) instead of written, and when the
/// interval ends one summary line per kind says how many were left out. One client NACKing every push, or a flood of
/// broken requests, then costs a few lines a minute, whatever its rate. Thread-safe.
/// </summary>
internal sealed class ClientLogBudget
{
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly XdsMetrics _metrics;
    private readonly int _lines;
    private readonly TimeSpan _interval;
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    public ClientLogBudget(TimeProvider clock, ILogger logger, XdsMetrics metrics, XdsServerOptions options)
    {
        _clock = clock;
        _logger = logger;
        _metrics = metrics;
        _lines = options.ClientLogLines;
        _interval = options.ClientLogInterval;
    }

    /// <summary>The kind of a NACK line.</summary>
    public const string Nack = "nack";

    /// <summary>The kind of a line about a request the stream rules refuse.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The kind of a line about a request that is not a valid protobuf message of its type.</summary>
    public const string MalformedRequest = "malformed_request";

    /// <summary>The kind of a line about a request over the size limit.</summary>
    public const string RequestTooLarge = "request_too_large";

    /// <summary>Whether a line of <paramref name="kind"/> may be written now; when not, it is counted as suppressed.</summary>
    public bool TryTake(string kind)
    {
        var window = _windows.GetOrAdd(kind, k => new Window(this, k));
        return window.TryTake();
    }

    /// <summary>One kind's current interval: lines written, lines suppressed, and the timer that reports them.</summary>
    private sealed class Window(ClientLogBudget budget, string kind)
    {
        private readonly Lock _lock = new();
        private DateTimeOffset _end = DateTimeOffset.MinValue;
        private int _written;
        private long _suppressed;
        private ITimer? _summary;

        public bool TryTake()
        {
            lock (_lock)
            {
                var now = budget._clock.GetUtcNow();
                if (now >= _end && _suppressed == 0)
                {
                    // A new interval starts with the first line after the last one ended (and its summary was written).
                    _end = now + budget._interval;
                    _written = 0;
                }

                if (_written < budget._lines)
                {
                    _written++;
                    return true;
                }

                if (_suppressed++ == 0)
                {
                    _summary = budget._clock.CreateTimer(_ => Summarise(), null, _end > now ? _end - now : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
                }
            }

            budget._metrics.ClientLogSuppressed(kind);
            return false;
        }

        private void Summarise()
        {
            long suppressed;
            lock (_lock)
            {
                suppressed = _suppressed;
                _suppressed = 0;
                _end = DateTimeOffset.MinValue;
                _summary?.Dispose();
                _summary = null;
            }

            XdsLog.ClientLinesSuppressed(budget._logger, suppressed, kind, budget._interval);
        }
    }
}
