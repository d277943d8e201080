using System.Net;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Kubernetes;

namespace XdsControlPlane.Server.Webhook;

/// <summary>What a replica does with the webhook's certificate Secret (<see cref="SecretCertificateSource"/>).</summary>
internal enum SecretAction
{
    /// <summary>Serve the stored certificate.</summary>
    Use,

    /// <summary>The leader creates the missing Secret.</summary>
    Create,

    /// <summary>The leader replaces the Secret's certificate (expiring, unreadable), conditional on its resource version.</summary>
    Replace,

    /// <summary>Wait for the leader to write it (nothing usable is stored and this replica does not lead).</summary>
    Wait,
}

/// <summary>
/// Kubernetes mode with <c>--webhook-secret</c>: the certificate lives in a <c>kubernetes.io/tls</c> Secret of the
/// server's namespace (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>). Every replica reads it every
/// <see cref="WebhookListenerOptions.CheckInterval"/> and serves what it holds; the leader creates it when absent and
/// replaces it when a third of its life is left (conditional on its resourceVersion, so two replicas never both win),
/// and, with <c>--webhook-configuration</c>, keeps every webhook's <c>clientConfig.caBundle</c> of that
/// MutatingWebhookConfiguration equal to the CA. A renewed CA bundle also holds the previous CA, so replicas still
/// serving the old certificate stay trusted until they reload.
/// </summary>
internal sealed class SecretCertificateSource(
    IKubernetes client,
    ILeadership leadership,
    WebhookListenerOptions options,
    string @namespace,
    IReadOnlyList<string> dnsNames,
    WebhookCertificateStore store,
    TimeProvider time,
    ILogger<SecretCertificateSource> logger) : BackgroundService
{
    /// <summary>The Secret's keys.</summary>
    internal const string CertificateKey = "tls.crt";

    /// <inheritdoc cref="CertificateKey"/>
    internal const string KeyKey = "tls.key";

    /// <inheritdoc cref="CertificateKey"/>
    internal const string CaKey = "ca.crt";

    private readonly string _source = $"Secret {@namespace}/{options.Secret}";
    private string? _lastProblem;
    private bool _leadingAtLastPass;

    /// <summary>The decision for a stored bundle (null when the Secret is absent) at <paramref name="now"/>. Pure.</summary>
    internal static SecretAction Decide(TlsBundle? stored, bool isLeader, DateTimeOffset now) => stored switch
    {
        null => isLeader ? SecretAction.Create : SecretAction.Wait,
        _ when !stored.NeedsRenewal(now) => SecretAction.Use,
        _ when isLeader => SecretAction.Replace,

        // Expiring but still valid: serve it until the leader renews it. Unreadable or expired: nothing to serve.
        _ => Usable(stored, now) ? SecretAction.Use : SecretAction.Wait,
    };

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            bool settled;
            try
            {
                settled = await CheckAsync(stoppingToken).ConfigureAwait(false);
                _lastProblem = null;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or CryptographicException or ArgumentException or KubernetesException && !stoppingToken.IsCancellationRequested)
            {
                settled = false;
                var problem = e is HttpOperationException http ? $"{(int)http.Response.StatusCode} {http.Response.ReasonPhrase}: {http.Response.Content}" : e.Message;
                if (problem != _lastProblem)
                {
                    _lastProblem = problem;
                    WebhookLog.ClusterProblem(logger, problem, options.RetryInterval.TotalSeconds);
                }
            }

            await WaitAsync(settled ? options.CheckInterval : options.RetryInterval, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits <paramref name="interval"/>, or less when this replica's leadership differs from the last pass's (looked at every
    /// <see cref="WebhookListenerOptions.RetryInterval"/>, no API call): a new leader writes what is missing at once.
    /// </summary>
    private async Task WaitAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        var leading = _leadingAtLastPass;
        var until = time.GetUtcNow() + interval;
        while (time.GetUtcNow() < until && leadership.IsLeader == leading)
        {
            var left = until - time.GetUtcNow();
            await Task.Delay(left < options.RetryInterval ? left : options.RetryInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One pass: read, write when leading and needed, serve, patch the caBundle. Returns false to look again soon.</summary>
    private async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        var secret = await ReadSecretAsync(cancellationToken).ConfigureAwait(false);
        var stored = secret is null ? null : BundleOf(secret);
        var isLeader = _leadingAtLastPass = leadership.IsLeader;
        switch (Decide(stored, isLeader, time.GetUtcNow()))
        {
            case SecretAction.Wait:
                return false;
            case SecretAction.Create or SecretAction.Replace:
                var bundle = WebhookCertificates.Generate(dnsNames, time.GetUtcNow(), options.CertificateLifetime, stored?.CaPem ?? "");
                if (!await WriteAsync(secret, bundle, cancellationToken).ConfigureAwait(false))
                {
                    // Another replica wrote first: serve what it wrote on the next pass.
                    return false;
                }

                stored = bundle;
                break;
        }

        if (store.Use(stored!))
        {
            WebhookLog.CertificateLoaded(logger, _source, store.Certificate!);
        }

        if (isLeader && options.Configuration is { } configuration)
        {
            await PatchCaBundleAsync(configuration, stored!.CaPem, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task<V1Secret?> ReadSecretAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(options.Secret, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Creates the Secret, or replaces <paramref name="existing"/> at its resource version; false when another writer won.</summary>
    private async Task<bool> WriteAsync(V1Secret? existing, TlsBundle bundle, CancellationToken cancellationToken)
    {
        var secret = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "kubernetes.io/tls",
            Metadata = new V1ObjectMeta
            {
                Name = options.Secret,
                NamespaceProperty = @namespace,
                ResourceVersion = existing?.Metadata.ResourceVersion,
                Labels = existing?.Metadata.Labels ?? new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = FieldManagers.ControlPlane },
                Annotations = existing?.Metadata.Annotations,
            },
            Data = new Dictionary<string, byte[]>
            {
                [CertificateKey] = Encoding.UTF8.GetBytes(bundle.CertificatePem),
                [KeyKey] = Encoding.UTF8.GetBytes(bundle.KeyPem),
                [CaKey] = Encoding.UTF8.GetBytes(bundle.CaPem),
            },
        };
        try
        {
            if (existing is null)
            {
                await client.CoreV1.CreateNamespacedSecretAsync(secret, @namespace, fieldManager: FieldManagers.ControlPlane, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await client.CoreV1.ReplaceNamespacedSecretAsync(secret, options.Secret, @namespace, fieldManager: FieldManagers.ControlPlane, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return false;
        }

        WebhookLog.SecretWritten(logger, @namespace, options.Secret!, existing is null ? "created with a new CA and serving certificate" : "renewed (a new CA and serving certificate; the previous CA stays in ca.crt)");
        return true;
    }

    /// <summary>Sets every webhook's <c>clientConfig.caBundle</c> that differs from <paramref name="caPem"/>, in one JSON patch conditional on the configuration's resource version.</summary>
    private async Task PatchCaBundleAsync(string name, string caPem, CancellationToken cancellationToken)
    {
        var configuration = await client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        var wanted = Encoding.UTF8.GetBytes(caPem);
        var stale = (configuration.Webhooks ?? []).Select((webhook, index) => (webhook, index))
            .Where(w => w.webhook.ClientConfig?.CaBundle is not { } bundle || !bundle.AsSpan().SequenceEqual(wanted))
            .Select(w => w.index)
            .ToArray();
        if (stale.Length == 0)
        {
            return;
        }

        var operations = new List<object> { new { op = "test", path = "/metadata/resourceVersion", value = configuration.Metadata.ResourceVersion } };
        operations.AddRange(stale.Select(index => new { op = "add", path = $"/webhooks/{index}/clientConfig/caBundle", value = Convert.ToBase64String(wanted) }));
        await client.AdmissionregistrationV1.PatchMutatingWebhookConfigurationAsync(
            new V1Patch(System.Text.Json.JsonSerializer.Serialize(operations), V1Patch.PatchType.JsonPatch), name, fieldManager: FieldManagers.ControlPlane, cancellationToken: cancellationToken).ConfigureAwait(false);
        WebhookLog.CaBundlePatched(logger, name, stale.Length);
    }

    private static TlsBundle? BundleOf(V1Secret secret) =>
        secret.Data is { } data && data.TryGetValue(CertificateKey, out var certificate) && data.TryGetValue(KeyKey, out var key)
            ? new TlsBundle(Encoding.UTF8.GetString(certificate), Encoding.UTF8.GetString(key), data.TryGetValue(CaKey, out var ca) ? Encoding.UTF8.GetString(ca) : "")
            : new TlsBundle("", "", "");

    private static bool Usable(TlsBundle bundle, DateTimeOffset now)
    {
        try
        {
            using var certificate = bundle.Load();
            return now < certificate.NotAfter;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return false;
        }
    }
}
