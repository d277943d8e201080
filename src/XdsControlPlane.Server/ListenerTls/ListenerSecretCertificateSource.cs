using System.Security.Cryptography;
using System.Text;
using k8s.Models;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Server.Webhook;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// Kubernetes mode with <c>--xds-tls-secret</c>/<c>--tunnel-tls-secret NAMESPACE/NAME</c>: a listener's serving
/// certificate from a <c>kubernetes.io/tls</c> Secret (<c>tls.crt</c>, <c>tls.key</c>; <c>ca.crt</c> is the client CA
/// unless a client CA file is given), watched (<see cref="SingleSecretWatch"/>). A version that does not load and a
/// deleted Secret keep the certificate in use, each said once; until the Secret exists, handshakes fail.
/// </summary>
internal sealed class ListenerSecretCertificateSource(k8s.IKubernetes client, ListenerCredentials credentials, TimeProvider time, ILogger<ListenerSecretCertificateSource> logger)
    : BackgroundService
{
    private readonly string _source = $"Secret {credentials.Options.Secret}";
    private string? _lastProblem;

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        credentials.ClientCa.LoadFile();
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var (ns, name) = credentials.Options.SecretReference;
        return new SingleSecretWatch(client, ns, name, time, logger).RunAsync(Changed, stoppingToken);
    }

    private void Changed(V1Secret? secret)
    {
        if (secret is null)
        {
            Once("missing", () => ListenerTlsLog.SecretMissing(logger, credentials.Listener, _source));
            return;
        }

        try
        {
            var bundle = new TlsBundle(Text(secret, SecretCertificateSource.CertificateKey), Text(secret, SecretCertificateSource.KeyKey), "");
            if (credentials.Serving.Use(bundle))
            {
                ListenerTlsLog.CertificateLoaded(logger, credentials.Listener, _source, credentials.Serving);
            }

            _lastProblem = null;
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException)
        {
            Once(e.Message, () => ListenerTlsLog.CertificateRejected(logger, credentials.Listener, _source, e.Message));
        }

        if (credentials.Options.ClientCaFile is null && secret.Data?.TryGetValue(SecretCertificateSource.CaKey, out var ca) == true && ca is { Length: > 0 })
        {
            credentials.ClientCa.UsePem(Encoding.UTF8.GetString(ca), $"{_source} ({SecretCertificateSource.CaKey})");
        }
    }

    private void Once(string key, Action log)
    {
        if (_lastProblem != key)
        {
            _lastProblem = key;
            log();
        }
    }

    /// <exception cref="FormatException">The key is absent or empty.</exception>
    private string Text(V1Secret secret, string key) =>
        secret.Data?.TryGetValue(key, out var bytes) == true && bytes is { Length: > 0 }
            ? Encoding.UTF8.GetString(bytes)
            : throw new FormatException($"{_source}: {key}: missing (a kubernetes.io/tls Secret holds tls.crt and tls.key)");
}
