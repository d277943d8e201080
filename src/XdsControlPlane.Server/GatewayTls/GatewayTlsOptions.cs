using XdsControlPlane.Model;

namespace XdsControlPlane.Server.GatewayTls;

/// <summary>
/// Configuration section <c>GatewayTls</c>: where the gateway's HTTPS certificate (a wildcard for
/// <c>*.&lt;preview domain&gt;</c>) comes from — a <c>kubernetes.io/tls</c> Secret (Kubernetes mode) or a pair of PEM
/// files — delivered to gateways over SDS. Without either, gateways serve plain HTTP only.
/// </summary>
public sealed class GatewayTlsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "GatewayTls";

    /// <summary>Kubernetes mode: the <c>kubernetes.io/tls</c> Secret as <c>NAMESPACE/NAME</c> (cert-manager's <c>tls.crt</c> with the chain, <c>tls.key</c>), watched.</summary>
    public string? Secret { get; set; }

    /// <summary>The certificate chain file (PEM, leaf first), reloaded when it changes; with <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; set; }

    /// <summary>The private key file (PEM) of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>How often the files are read besides change notifications.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How soon a changed pair that failed to load is read again (files replaced one after the other).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether a certificate source is configured (the gateway then serves HTTPS).</summary>
    public bool Enabled => Secret is not null || CertFile is not null;

    /// <summary>The namespace and name of <see cref="Secret"/>; valid after <see cref="Validate"/> passed.</summary>
    internal (string Namespace, string Name) SecretReference => Secret!.Split('/') is [var ns, var name] ? (ns, name) : throw new InvalidOperationException("GatewayTls:Secret is not NAMESPACE/NAME");

    /// <summary>The problems with these settings in <paramref name="kubernetes"/> mode or not; empty when valid.</summary>
    public IEnumerable<string> Validate(bool kubernetes)
    {
        if ((CertFile is null) != (KeyFile is null))
        {
            yield return "GatewayTls:CertFile and GatewayTls:KeyFile (--gateway-tls-cert-file, --gateway-tls-key-file) go together; give both or neither.";
        }

        foreach (var (file, key) in new[] { (CertFile, "CertFile"), (KeyFile, "KeyFile") })
        {
            if (file is not null && !File.Exists(file))
            {
                yield return $"GatewayTls:{key} must be an existing file, got '{file}'.";
            }
        }

        if (Secret is not null)
        {
            if (CertFile is not null)
            {
                yield return "GatewayTls:Secret and GatewayTls:CertFile (--gateway-tls-secret, --gateway-tls-cert-file) are alternative certificate sources; give one.";
            }

            if (!kubernetes)
            {
                yield return "GatewayTls:Secret (--gateway-tls-secret) applies with --kubernetes only; in manifests mode give --gateway-tls-cert-file and --gateway-tls-key-file.";
            }

            if (Secret.Split('/') is not [var ns, var name] || !SchemaPatterns.IsDnsLabel(ns) || !SchemaPatterns.IsDnsSubdomain(name))
            {
                yield return $"GatewayTls:Secret (--gateway-tls-secret) must be NAMESPACE/NAME of a Secret, got '{Secret}'.";
            }
        }

        foreach (var (interval, key) in new[] { (CheckInterval, "CheckInterval"), (RetryInterval, "RetryInterval") })
        {
            if (interval <= TimeSpan.Zero || interval > TimeSpan.FromDays(1))
            {
                yield return $"GatewayTls:{key} must be positive and at most 24h, got {interval}.";
            }
        }
    }
}
