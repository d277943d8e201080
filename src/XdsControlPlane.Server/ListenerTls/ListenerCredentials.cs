using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using KestrelClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// What one TLS listener (xDS or tunnel) serves with: its options, the serving certificate in force (filled by a
/// certificate source) and the client CA bundle. <see cref="Secure"/> puts TLS on the listener: each handshake takes the
/// certificate in force, so a rotation reaches new connections while open ones keep theirs.
/// </summary>
internal sealed class ListenerCredentials(string listener, ListenerTlsOptions options, ILogger logger)
{
    /// <summary>How long a client has to complete the TLS handshake.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The listener's name in logs (<c>xDS</c>, <c>tunnel</c>).</summary>
    public string Listener => listener;

    /// <summary>The listener's TLS settings.</summary>
    public ListenerTlsOptions Options => options;

    /// <summary>The serving certificate in force.</summary>
    public ServingCertificateStore Serving { get; } = new();

    /// <summary>The CA bundle client certificates chain to.</summary>
    public ClientCaBundle ClientCa { get; } = new(listener, options.ClientCaFile, logger);

    /// <summary>Serves TLS 1.2 or 1.3 on <paramref name="listen"/> with the certificate in force, asking for client certificates as <see cref="ListenerTlsOptions.ClientCertificates"/> says.</summary>
    public void Secure(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var https = new HttpsConnectionAdapterOptions
        {
            HandshakeTimeout = HandshakeTimeout,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateMode = options.ClientCertificates switch
            {
                ClientCertificates.Required => KestrelClientCertificateMode.RequireCertificate,
                ClientCertificates.Optional => KestrelClientCertificateMode.AllowCertificate,
                _ => KestrelClientCertificateMode.NoCertificate,
            },
        };
        Serving.ServeOn(https);
        if (options.ClientCertificates != ClientCertificates.Off)
        {
            https.ClientCertificateValidation = (certificate, chain, _) =>
            {
                if (ClientCa.Trusts(certificate, chain, out var problem))
                {
                    return true;
                }

                ListenerTlsLog.ClientCertificateRefused(logger, listener, certificate.Subject, problem ?? "untrusted");
                return false;
            };
        }

        listen.UseHttps(https);
    }
}
