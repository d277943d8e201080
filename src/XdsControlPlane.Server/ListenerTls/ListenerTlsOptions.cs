using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>Whether a TLS listener asks its clients for certificates (mutual TLS).</summary>
public enum ClientCertificates
{
    /// <summary>No client certificate is asked for.</summary>
    Off,

    /// <summary>A client may present a certificate; one it presents must be signed by the client CA, one it does not is let in without an identity.</summary>
    Optional,

    /// <summary>A client must present a certificate signed by the client CA; the handshake fails otherwise.</summary>
    Required,
}

/// <summary>
/// TLS of a gRPC listener (the xDS listener's <c>Xds:Tls</c>, the tunnel broker's <c>Tunnel:Tls</c>): the serving
/// certificate from a pair of PEM files (watched, reloaded) or a <c>kubernetes.io/tls</c> Secret (Kubernetes mode,
/// watched), and whether clients must present certificates signed by a CA bundle. Without a certificate source the
/// listener speaks plaintext HTTP/2, as before.
/// </summary>
public sealed class ListenerTlsOptions
{
    /// <summary>The serving certificate (PEM, leaf first); with <see cref="KeyFile"/>, reloaded when the files change.</summary>
    public string? CertFile { get; set; }

    /// <summary>The serving certificate's private key (PEM).</summary>
    public string? KeyFile { get; set; }

    /// <summary>Kubernetes mode: the <c>kubernetes.io/tls</c> Secret as <c>NAMESPACE/NAME</c> (<c>tls.crt</c>, <c>tls.key</c>, and <c>ca.crt</c> as the client CA when <see cref="ClientCaFile"/> is not given), watched.</summary>
    public string? Secret { get; set; }

    /// <summary>Whether clients present certificates.</summary>
    public ClientCertificates ClientCertificates { get; set; } = ClientCertificates.Off;

    /// <summary>The CA bundle (PEM) client certificates must chain to; read again when the file changes.</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>How often the certificate files are read besides change notifications.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How soon a changed pair that failed to load is read again (files replaced one after the other).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether the listener serves TLS (a certificate source is configured).</summary>
    public bool Enabled => CertFile is not null || Secret is not null;

    /// <summary>The namespace and name of <see cref="Secret"/>; valid after <see cref="Validate"/> passed.</summary>
    internal (string Namespace, string Name) SecretReference => Secret!.Split('/') is [var ns, var name] ? (ns, name) : throw new InvalidOperationException("Tls:Secret is not NAMESPACE/NAME");

    /// <summary>
    /// The problems with these settings, named by their configuration key under <paramref name="section"/>
    /// (<c>Xds</c>) and their flag under <paramref name="flag"/> (<c>--xds</c>), in <paramref name="kubernetes"/> mode or not.
    /// </summary>
    public IEnumerable<string> Validate(string section, string flag, bool kubernetes)
    {
        var key = $"{section}:Tls";
        if ((CertFile is null) != (KeyFile is null))
        {
            yield return $"{key}:CertFile and {key}:KeyFile ({flag}-tls-cert-file, {flag}-tls-key-file) go together; give both or neither.";
        }

        foreach (var (file, name, option) in new[] { (CertFile, "CertFile", "cert-file"), (KeyFile, "KeyFile", "key-file"), (ClientCaFile, "ClientCaFile", "client-ca-file") })
        {
            if (file is not null && !File.Exists(file))
            {
                yield return $"{key}:{name} ({flag}-tls-{option}) must be an existing file, got '{file}'.";
            }
        }

        if (Secret is not null)
        {
            if (CertFile is not null)
            {
                yield return $"{key}:Secret and {key}:CertFile ({flag}-tls-secret, {flag}-tls-cert-file) are alternative certificate sources; give one.";
            }

            if (!kubernetes)
            {
                yield return $"{key}:Secret ({flag}-tls-secret) applies with --kubernetes only; in manifests mode give {flag}-tls-cert-file and {flag}-tls-key-file.";
            }

            if (Secret.Split('/') is not [var ns, var name] || !SchemaPatterns.IsDnsLabel(ns) || !SchemaPatterns.IsDnsSubdomain(name))
            {
                yield return $"{key}:Secret ({flag}-tls-secret) must be NAMESPACE/NAME of a Secret, got '{Secret}'.";
            }
        }

        if (!Enum.IsDefined(ClientCertificates))
        {
            yield return $"{key}:ClientCertificates ({flag}-tls-client-certs) must be Off, Optional or Required, got '{ClientCertificates}'.";
        }
        else if (ClientCertificates != ClientCertificates.Off)
        {
            if (!Enabled)
            {
                yield return $"{key}:ClientCertificates ({flag}-tls-client-certs) needs TLS: give {flag}-tls-cert-file and {flag}-tls-key-file, or {flag}-tls-secret.";
            }
            else if (ClientCaFile is null && Secret is null)
            {
                yield return $"{key}:ClientCertificates ({flag}-tls-client-certs) needs the CA bundle client certificates chain to: give {flag}-tls-client-ca-file.";
            }
        }

        foreach (var (interval, name) in new[] { (CheckInterval, "CheckInterval"), (RetryInterval, "RetryInterval") })
        {
            if (interval <= TimeSpan.Zero || interval > TimeSpan.FromDays(1))
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"{key}:{name} must be positive and at most 24h, got {interval}.");
            }
        }
    }
}
