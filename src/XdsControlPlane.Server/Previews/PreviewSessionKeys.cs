using System.Net;
using System.Security.Cryptography;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Kubernetes;

namespace XdsControlPlane.Server.Previews;

/// <summary>The key that signs preview session cookies, once a source has put it here; every replica must hold the same one.</summary>
internal sealed class PreviewSessionKey
{
    private volatile byte[]? _key;

    /// <summary>The key, or null until its source has read or made it.</summary>
    public byte[]? Current => _key;

    /// <summary>Puts <paramref name="key"/> in force.</summary>
    public void Set(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length < PreviewSessions.KeyLength)
        {
            throw new ArgumentException($"a session key has at least {PreviewSessions.KeyLength} bytes, got {key.Length}", nameof(key));
        }

        _key = key;
    }

    /// <summary>A fresh key from the system's cryptographic random source.</summary>
    public static byte[] Generate() => RandomNumberGenerator.GetBytes(PreviewSessions.KeyLength);

    /// <summary>
    /// The key in <paramref name="path"/> (base64 text), made and written there (mode 0600, created exclusively so two
    /// processes starting at once agree) when the file does not exist.
    /// </summary>
    /// <exception cref="InvalidDataException">The file exists and holds no key.</exception>
    public static byte[] FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            var key = Generate();
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var stream = new FileStream(path, options);
                using var writer = new StreamWriter(stream);
                writer.Write(Convert.ToBase64String(key) + "\n");
                return key;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process made it first: read theirs.
            }
        }

        var info = new FileInfo(path);
        if (info.Length > 1024)
        {
            throw new InvalidDataException($"{path}: a session key file holds one base64 key (44 characters), got {info.Length} bytes");
        }

        try
        {
            var read = Convert.FromBase64String(File.ReadAllText(path).Trim());
            return read.Length >= PreviewSessions.KeyLength ? read : throw new InvalidDataException($"{path}: the key has {read.Length} bytes, at least {PreviewSessions.KeyLength} needed");
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"{path}: not a base64 key");
        }
    }
}

/// <summary>
/// Kubernetes mode: reads the session key from a Secret in the server's namespace (data key <see cref="DataKey"/>); the
/// leader creates the Secret with a fresh key when it does not exist, the other replicas wait for it, so every replica
/// signs and verifies with the same key. Rotating it: delete the Secret and restart the replicas (every session ends).
/// </summary>
internal sealed class SecretPreviewSessionKeySource(
    IKubernetes client, ILeadership leadership, PreviewSessionKey key, string @namespace, string secret, TimeProvider time, ILogger<SecretPreviewSessionKeySource> logger) : BackgroundService
{
    /// <summary>The Secret's data key.</summary>
    public const string DataKey = "session-key";

    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await ReadOrCreateAsync(stoppingToken).ConfigureAwait(false) is { } read)
                {
                    key.Set(read);
                    var where = "Secret " + @namespace + "/" + secret;
                    PreviewAccessLog.SessionKeyLoaded(logger, where);
                    return;
                }
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or KubernetesException or InvalidDataException && !stoppingToken.IsCancellationRequested)
            {
                if (failures++ % 30 == 0)
                {
                    var problem = e is HttpOperationException http ? $"{(int)http.Response.StatusCode} {http.Response.ReasonPhrase}" : e.Message;
                    var where = "Secret " + @namespace + "/" + secret;
                    PreviewAccessLog.SessionKeyFailed(logger, where, problem);
                }
            }

            await Task.Delay(RetryInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The key in the Secret; made by the leader when there is none; null while a follower waits for it.</summary>
    private async Task<byte[]?> ReadOrCreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            var existing = await client.CoreV1.ReadNamespacedSecretAsync(secret, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return existing.Data?.TryGetValue(DataKey, out var bytes) == true && bytes.Length >= PreviewSessions.KeyLength
                ? bytes
                : throw new InvalidDataException($"Secret {@namespace}/{secret} has no data.{DataKey} of at least {PreviewSessions.KeyLength} bytes");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            if (!leadership.IsLeader)
            {
                return null;
            }
        }

        var fresh = PreviewSessionKey.Generate();
        var body = new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = secret, NamespaceProperty = @namespace, Labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "xds-control-plane" } },
            Type = "Opaque",
            Data = new Dictionary<string, byte[]> { [DataKey] = fresh },
        };
        try
        {
            await client.CoreV1.CreateNamespacedSecretAsync(body, @namespace, fieldManager: FieldManagers.ControlPlane, cancellationToken: cancellationToken).ConfigureAwait(false);
            return fresh;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return null;   // made meanwhile (a previous leader): read it next time
        }
    }
}
