namespace XdsControlPlane.Tunnel;

/// <summary>
/// The frames of one stream's peer that the multiplexer refused (frames for connections never opened, Opens with an id
/// the peer may not use, Opens past the connection limit): counted, logged at most one line per
/// <see cref="TunnelLimits.RefusedFrameLogInterval"/> (the first at once, then how many followed), and once the protocol
/// errors among them pass <see cref="TunnelLimits.MaxProtocolErrors"/> the stream is to end (<see cref="Fault"/>), so a
/// peer that sends 100,000 of them costs a bounded number of answers and log lines.
/// </summary>
internal sealed class PeerViolations(TunnelLimits limits, TimeProvider clock, ILogger logger)
{
    private readonly Lock _gate = new();
    private long _refused;
    private long _protocolErrors;
    private long _unlogged;
    private long _loggedAt;
    private string? _last;
    private string? _fault;

    /// <summary>Frames refused so far.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Why the stream is to end (the peer broke the protocol too often); null while it may go on.</summary>
    public string? Fault => Volatile.Read(ref _fault);

    /// <summary>
    /// Counts a refused frame described by <paramref name="what"/>; a <paramref name="protocolError"/> counts towards the
    /// limit. True when the frame is still to be answered; false once the stream is to end (nothing more is answered).
    /// </summary>
    public bool Record(string what, bool protocolError)
    {
        lock (_gate)
        {
            _refused++;
            if (_fault is not null)
            {
                return false;
            }

            if (protocolError && ++_protocolErrors > limits.MaxProtocolErrors)
            {
                _fault = $"the peer sent {_protocolErrors} frames that break the tunnel protocol (limit {limits.MaxProtocolErrors}), the last: {what}";
                TunnelLog.StreamFaulted(logger, _fault);
                return false;
            }

            var now = clock.GetTimestamp();
            if (_refused == 1 || clock.GetElapsedTime(_loggedAt, now) >= limits.RefusedFrameLogInterval)
            {
                LogLocked(what, now);
            }
            else
            {
                _unlogged++;
                _last = what;
            }

            return true;
        }
    }

    /// <summary>Logs the count of refused frames not logged yet (the stream is over).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_unlogged > 0 && _fault is null)
            {
                TunnelLog.FramesRefused(logger, _unlogged, clock.GetElapsedTime(_loggedAt).TotalSeconds, _last ?? "");
                _unlogged = 0;
            }
        }
    }

    private void LogLocked(string what, long now)
    {
        if (_unlogged == 0)
        {
            TunnelLog.FrameRefused(logger, what);
        }
        else
        {
            TunnelLog.FramesRefused(logger, _unlogged + 1, clock.GetElapsedTime(_loggedAt, now).TotalSeconds, what);
        }

        _unlogged = 0;
        _loggedAt = now;
    }
}
