namespace XdsControlPlane.Server;

/// <summary>
/// The tunnel broker's listener (gRPC over HTTP/2, where <c>sandboxctl local connect</c> agents connect), configuration
/// section <c>Tunnel</c>; the same section sets the broker itself (<see cref="XdsControlPlane.Tunnel.TunnelBrokerOptions"/>:
/// <c>AdvertiseAddress</c>, <c>FirstListenPort</c>, <c>ListenPortCount</c>, its timers).
/// </summary>
public sealed class TunnelListenerOptions() : ListenerOptions(Section, DefaultPort)
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Tunnel";

    /// <summary>Default port of the tunnel broker's gRPC listener.</summary>
    public const int DefaultPort = 18001;

    /// <summary>
    /// Manifests mode: the token agents not on this host must present (<c>sandboxctl local connect --token</c>);
    /// <see langword="null"/> (the default) admits agents on loopback only. Kubernetes mode admits agents by the
    /// LocalWorkload's secret hash instead.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>TLS (<c>Tunnel:Tls</c>): plaintext unless a certificate source is given.</summary>
    public ListenerTls.ListenerTlsOptions Tls { get; set; } = new();
}
