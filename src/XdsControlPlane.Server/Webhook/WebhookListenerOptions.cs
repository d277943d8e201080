using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// The mutating admission webhook's HTTPS listener (<c>POST /inject</c>, AdmissionReview v1), configuration section
/// <c>Webhook</c>: where its serving certificate comes from (files, a Kubernetes Secret, or generated in memory) and
/// how long generated certificates live. Port 0 turns the listener off.
/// </summary>
public sealed class WebhookListenerOptions() : ListenerOptions(Section, DefaultPort)
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Webhook";

    /// <summary>Default port of the webhook's HTTPS listener.</summary>
    public const int DefaultPort = 18443;

    /// <summary>The largest AdmissionReview body accepted (the API server's own request limit is 3 MiB).</summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;

    /// <summary>The deepest JSON nesting accepted in an AdmissionReview body.</summary>
    public const int MaxJsonDepth = 64;

    /// <summary>The serving certificate (PEM, leaf first); with <see cref="KeyFile"/>, reloaded when the file changes.</summary>
    public string? CertFile { get; set; }

    /// <summary>The serving certificate's private key (PEM).</summary>
    public string? KeyFile { get; set; }

    /// <summary>Where to write the CA of a generated certificate (PEM), so a client can trust it.</summary>
    public string? CaFile { get; set; }

    /// <summary>The DNS names of a generated serving certificate (default <c>localhost</c>, plus the Service's name in Kubernetes mode).</summary>
    public IReadOnlyList<string> DnsNames { get; set; } = [];

    /// <summary>Kubernetes mode: the webhook's Service, whose <c>name.namespace.svc</c> a generated certificate names.</summary>
    public string? Service { get; set; }

    /// <summary>Kubernetes mode: the <c>kubernetes.io/tls</c> Secret (in the server's namespace) the certificate is kept in; the leader creates and renews it.</summary>
    public string? Secret { get; set; }

    /// <summary>Kubernetes mode: the MutatingWebhookConfiguration whose webhooks' <c>clientConfig.caBundle</c> the leader keeps equal to the CA.</summary>
    public string? Configuration { get; set; }

    /// <summary>How long a generated serving certificate is valid; it is renewed when a third of that is left.</summary>
    public TimeSpan CertificateLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How often the certificate files or the Secret are checked (besides file change notifications) and a generated certificate's age.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How soon to look again while the Secret is missing and another replica leads, or after losing a write race.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether the listener is on (a port other than 0).</summary>
    public bool Enabled => Port != 0;

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        foreach (var problem in PortProblems())
        {
            yield return problem;
        }

        if ((CertFile is null) != (KeyFile is null))
        {
            yield return "Webhook:CertFile and Webhook:KeyFile (--webhook-cert-file, --webhook-key-file) go together; give both or neither.";
        }

        foreach (var (file, key) in new[] { (CertFile, "CertFile"), (KeyFile, "KeyFile") })
        {
            if (file is not null && !File.Exists(file))
            {
                yield return $"Webhook:{key} must be an existing file, got '{file}'.";
            }
        }

        if (CertFile is not null && Secret is not null)
        {
            yield return "Webhook:CertFile and Webhook:Secret are alternative certificate sources; give one.";
        }

        foreach (var name in DnsNames.Where(name => !SchemaPatterns.IsDnsSubdomain(name)))
        {
            yield return $"Webhook:DnsNames must be DNS names (lower-case letters, digits, '-' and '.'), got '{name}'.";
        }

        foreach (var (value, key) in new[] { (Service, "Service"), (Secret, "Secret"), (Configuration, "Configuration") })
        {
            if (value is not null && !SchemaPatterns.IsDnsSubdomain(value))
            {
                yield return $"Webhook:{key} must be an object name (lower-case letters, digits, '-' and '.'), got '{value}'.";
            }
        }

        if (CertificateLifetime < TimeSpan.FromHours(1) || CertificateLifetime > TimeSpan.FromDays(3650))
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"Webhook:CertificateLifetime must be from 1 hour to 3650 days, got {CertificateLifetime}.");
        }

        foreach (var (interval, key) in new[] { (CheckInterval, "CheckInterval"), (RetryInterval, "RetryInterval") })
        {
            if (interval <= TimeSpan.Zero || interval > TimeSpan.FromDays(1))
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"Webhook:{key} must be positive and at most 1 day, got {interval}.");
            }
        }
    }
}
