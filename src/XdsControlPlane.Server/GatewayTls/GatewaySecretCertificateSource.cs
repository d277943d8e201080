using System.Text;
using k8s.Models;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.GatewayTls;

/// <summary>
/// Kubernetes mode with <c>--gateway-tls-secret NAMESPACE/NAME</c>: the gateway's HTTPS certificate from a
/// <c>kubernetes.io/tls</c> Secret (cert-manager writes <c>tls.crt</c> with the chain and <c>tls.key</c>), watched
/// (<see cref="SingleSecretWatch"/>). Every replica reads it. A version that does not check out
/// (<see cref="GatewayCertificate.Parse"/>) and a deleted Secret keep the last good certificate, each said once; a
/// Secret that does not exist yet leaves gateways on plain HTTP until it does.
/// </summary>
internal sealed class GatewaySecretCertificateSource(k8s.IKubernetes client, GatewayTlsOptions options, GatewayCertificateStore store, TimeProvider time, ILogger<GatewaySecretCertificateSource> logger)
    : BackgroundService
{
    private readonly string _source = $"Secret {options.Secret}";
    private string? _lastProblem;
    private bool _seen;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var (ns, name) = options.SecretReference;
        return new SingleSecretWatch(client, ns, name, time, logger).RunAsync(Changed, stoppingToken);
    }

    /// <summary>What one list or event says of the Secret.</summary>
    private void Changed(V1Secret? secret)
    {
        if (secret is null)
        {
            if (_seen)
            {
                Once("deleted", () => GatewayTlsLog.SecretDeleted(logger, _source, store.KeptText));
            }
            else
            {
                Once("missing", () => GatewayTlsLog.SecretMissing(logger, _source));
            }

            return;
        }

        _seen = true;
        try
        {
            store.Use(GatewayCertificate.Parse(Text(secret, "tls.crt"), Text(secret, "tls.key"), _source), _source);
            _lastProblem = null;
        }
        catch (FormatException e)
        {
            Once(e.Message, () => GatewayTlsLog.CertificateRejected(logger, _source, store.KeptText, e.Message));
        }
    }

    /// <summary>Says <paramref name="log"/> unless the same problem (<paramref name="key"/>) was said last.</summary>
    private void Once(string key, Action log)
    {
        if (_lastProblem != key)
        {
            _lastProblem = key;
            log();
        }
    }

    /// <summary>A data key as UTF-8 text.</summary>
    /// <exception cref="FormatException">The key is absent or not text.</exception>
    private string Text(V1Secret secret, string key)
    {
        if (secret.Data?.TryGetValue(key, out var bytes) != true || bytes is null || bytes.Length == 0)
        {
            throw new FormatException($"{_source}: {key}: missing (a kubernetes.io/tls Secret holds tls.crt and tls.key)");
        }

        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (ArgumentException)
        {
            throw new FormatException($"{_source}: {key}: not PEM text");
        }
    }
}
