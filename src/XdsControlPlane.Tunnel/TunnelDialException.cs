using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>A dial for a tunnelled connection failed; the reason and message go back to the peer in its Close frame.</summary>
public sealed class TunnelDialException : Exception
{
    /// <summary>A failure with <paramref name="reason"/> and a message for people.</summary>
    public TunnelDialException(CloseReason reason, string message)
        : base(message) => Reason = reason;

    /// <summary>A failure to dial.</summary>
    public TunnelDialException()
        : this(CloseReason.DialFailed, "dial failed")
    {
    }

    /// <summary>A failure to dial with a message.</summary>
    public TunnelDialException(string message)
        : this(CloseReason.DialFailed, message)
    {
    }

    /// <summary>A failure to dial with a message and its cause.</summary>
    public TunnelDialException(string message, Exception innerException)
        : base(message, innerException) => Reason = CloseReason.DialFailed;

    /// <summary>Why the connection closes.</summary>
    public CloseReason Reason { get; }
}
