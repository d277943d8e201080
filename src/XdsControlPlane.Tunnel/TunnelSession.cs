using System.Security.Cryptography;

namespace XdsControlPlane.Tunnel;

/// <summary>One agent stream on this replica: the workload it serves, its multiplexer, and how to end it.</summary>
internal sealed class TunnelSession(WorkloadClaim claim, TunnelMultiplexer multiplexer, DateTimeOffset connectedAt) : IDisposable
{
    private readonly CancellationTokenSource _ended = new();

    public WorkloadClaim Claim { get; } = claim;

    public TunnelMultiplexer Multiplexer { get; } = multiplexer;

    public DateTimeOffset ConnectedAt { get; } = connectedAt;

    /// <summary>What a lane's Hello must carry to join this session (protocol version 2): random, told only in its Welcome.</summary>
    public byte[] LaneToken { get; } = RandomNumberGenerator.GetBytes(LaneTokenLength);

    /// <summary>The length of <see cref="LaneToken"/>.</summary>
    public const int LaneTokenLength = 32;

    /// <summary>Whether the agent said goodbye (its routes are withdrawn, the stream drains).</summary>
    public bool SaidGoodbye { get; set; }

    /// <summary>Why the broker ended the stream, when it did.</summary>
    public string? EndReason { get; private set; }

    /// <summary>Cancelled when the broker ends the stream (taken over, silent for too long).</summary>
    public CancellationToken Ended => _ended.Token;

    public void End(string reason)
    {
        EndReason ??= reason;
        try
        {
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Over already.
        }
    }

    public void Dispose() => _ended.Dispose();
}
