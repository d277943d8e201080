using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;

namespace XdsControlPlane.Translation;

/// <summary>
/// The gateway's HTTPS certificate as the SDS resource its HTTPS listener loads over ADS
/// (<see cref="ListenerTranslator.GatewayHttps"/>), and how it joins the gateway's translated resources. The secret is
/// not a translation input: the server adds it to what translation makes (<see cref="Complete"/>), so a rotation
/// changes this one resource and nothing else.
/// </summary>
public static class GatewayTlsSecret
{
    /// <summary>The SDS name the HTTPS listener loads.</summary>
    public const string Name = "gateway-tls";

    /// <summary>The secret for <paramref name="certificate"/>: its chain and key, inline.</summary>
    public static XdsResource Create(GatewayCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return XdsResource.Create(new Secret
        {
            Name = Name,
            TlsCertificate = new TlsCertificate
            {
                CertificateChain = new DataSource { InlineString = certificate.ChainPem },
                PrivateKey = new DataSource { InlineString = certificate.KeyPem },
            },
        });
    }

    /// <summary>
    /// The gateway's translated resources with <paramref name="secret"/> added. Without one (no good certificate yet), the
    /// listeners that load a secret are left out until it comes: the plain listener serves on, and the snapshot stays
    /// consistent (no listener names a secret it does not hold).
    /// </summary>
    public static IReadOnlyList<XdsResource> Complete(IReadOnlyList<XdsResource> gateway, XdsResource? secret)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        if (secret is not null)
        {
            return new SegmentedList<XdsResource>(gateway, [secret]);
        }

        var waiting = false;
        foreach (var resource in gateway)
        {
            waiting |= resource.TypeUrl == TypeUrls.Listener && resource.References.Secrets.Count > 0;
        }

        return waiting ? [.. gateway.Where(r => r.TypeUrl != TypeUrls.Listener || r.References.Secrets.Count == 0)] : gateway;
    }
}
