namespace XdsControlPlane.Tunnel;

/// <summary>When an agent's stream was last heard from, and last pinged; written by the reader, read by the heartbeat.</summary>
internal sealed class StreamActivity(DateTimeOffset start)
{
    private long _heard = start.UtcTicks;
    private long _pinged = start.UtcTicks;

    public DateTimeOffset LastHeard => new(Interlocked.Read(ref _heard), TimeSpan.Zero);

    public DateTimeOffset LastPing => new(Interlocked.Read(ref _pinged), TimeSpan.Zero);

    public void Heard(DateTimeOffset at) => Interlocked.Exchange(ref _heard, at.UtcTicks);

    public void Pinged(DateTimeOffset at) => Interlocked.Exchange(ref _pinged, at.UtcTicks);
}
