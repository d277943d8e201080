namespace XdsControlPlane.Server;

/// <summary>
/// The xDS listener (ADS, the per-type services, CSDS over HTTP/2), configuration section <c>Xds</c>; the same section
/// sets the xDS server's own settings (<see cref="XdsControlPlane.Xds.XdsServerOptions"/>: <c>MaxStreamAge</c>, <c>MaxRequestBytes</c>).
/// </summary>
public sealed class XdsListenerOptions() : ListenerOptions(Section, DefaultPort)
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Xds";

    /// <summary>Default port of the xDS (ADS) gRPC listener.</summary>
    public const int DefaultPort = 18000;

    /// <summary>TLS (<c>Xds:Tls</c>): plaintext unless a certificate source is given; node identity (<c>Xds:TrustDomain</c>, <c>Xds:RoleIdentities</c>) applies with client certificates on.</summary>
    public ListenerTls.ListenerTlsOptions Tls { get; set; } = new();
}
