using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;

namespace Sandboxctl.Local.PodEnvironment;

/// <summary>What became of reading a ConfigMap or Secret: its data, or why there is none.</summary>
internal enum EnvSourceState
{
    /// <summary>Read; <see cref="EnvSource.Data"/> holds its keys.</summary>
    Found,

    /// <summary>It does not exist (404).</summary>
    NotFound,

    /// <summary>The user may not read it (403): it was not fetched.</summary>
    Forbidden,
}

/// <summary>A ConfigMap or Secret an environment names: <c>Kind namespace/name</c>, its state and (when found) its string data.</summary>
internal sealed record EnvSource(string Kind, string Namespace, string Name, EnvSourceState State, IReadOnlyDictionary<string, string> Data)
{
    /// <summary>Why it gave no values, for a warning (never a value).</summary>
    public string Problem => State switch
    {
        EnvSourceState.NotFound => $"{this} not found",
        EnvSourceState.Forbidden => $"you may not read {this} (403 Forbidden; not fetched)",
        _ => "",
    };

    /// <inheritdoc />
    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}

/// <summary>
/// Reads the ConfigMaps and Secrets a container's environment names, each once, with the user's own credentials: the
/// cluster's RBAC decides what the laptop gets. A 403 or 404 is a state, not a failure; anything else (the API server
/// unreachable, a 500) fails the command.
/// </summary>
internal sealed class EnvSourceReader(IKubernetes client, string ns)
{
    private readonly Dictionary<(string Kind, string Name), EnvSource> _read = [];

    /// <summary>ConfigMap <paramref name="name"/> of the namespace (its <c>data</c>; <c>binaryData</c> is not environment).</summary>
    public Task<EnvSource> ConfigMapAsync(string name, CancellationToken cancellationToken) =>
        ReadAsync("ConfigMap", name, async () => (await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false)).Data, cancellationToken);

    /// <summary>Secret <paramref name="name"/> of the namespace, its values decoded as UTF-8.</summary>
    public Task<EnvSource> SecretAsync(string name, CancellationToken cancellationToken) =>
        ReadAsync("Secret", name, async () => (await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false)).Data?
            .ToDictionary(d => d.Key, d => Encoding.UTF8.GetString(d.Value ?? []), StringComparer.Ordinal), cancellationToken);

    private async Task<EnvSource> ReadAsync(string kind, string name, Func<Task<IDictionary<string, string>?>> read, CancellationToken cancellationToken)
    {
        if (_read.TryGetValue((kind, name), out var known))
        {
            return known;
        }

        cancellationToken.ThrowIfCancellationRequested();
        EnvSource source;
        try
        {
            var data = await read().ConfigureAwait(false);
            source = new EnvSource(kind, ns, name, EnvSourceState.Found, new Dictionary<string, string>(data ?? new Dictionary<string, string>(), StringComparer.Ordinal));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
        {
            var state = e.Response.StatusCode == HttpStatusCode.NotFound ? EnvSourceState.NotFound : EnvSourceState.Forbidden;
            source = new EnvSource(kind, ns, name, state, new Dictionary<string, string>());
        }
        catch (HttpOperationException e)
        {
            throw new CliException($"get {kind.ToLowerInvariant()}s {name} in {ns}: the cluster answered {(int)e.Response.StatusCode} {e.Response.StatusCode} (--env-file).", "Try again, or leave out --env-file.", ExitCodes.ConnectionError);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError);
        }

        _read[(kind, name)] = source;
        return source;
    }
}
