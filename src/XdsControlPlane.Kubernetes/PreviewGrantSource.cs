using k8s;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Kubernetes mode: PreviewGrants listed and watched (in all namespaces, or in each watched one) into the
/// <see cref="PreviewGrantStore"/> — not into the source pipeline, so a grant minted or revoked never translates or
/// publishes anything. A deleted grant leaves the store at its watch event: its tokens and sessions stop opening at once.
/// Every replica runs it (each decides alone).
/// </summary>
public sealed class PreviewGrantSource : BackgroundService
{
    private readonly IReadOnlyList<ResourceInformer> _informers;
    private readonly PreviewGrantStore _store;
    private readonly Action<PreviewGrant, IReadOnlyList<ManifestProblem>>? _invalid;

    /// <summary>A source reading through <paramref name="client"/> into <paramref name="store"/>; <paramref name="invalid"/> is told of each grant that fails validation (and so opens nothing).</summary>
    public PreviewGrantSource(IKubernetes client, KubernetesInformers informers, PreviewGrantStore store, IReadOnlyList<string> namespaces, Action<PreviewGrant, IReadOnlyList<ManifestProblem>>? invalid = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(namespaces);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _invalid = invalid;
        _informers = [.. ResourceSources.Scoped(namespaces, ns => ResourceSources.PreviewGrants(client, ns)).Select(informers.For)];
        foreach (var informer in _informers)
        {
            informer.Subscribe(changes => Changed(informer, changes));
        }
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_informers.Select(informer => informer.RunAsync(stoppingToken)));

    private void Changed(ResourceInformer informer, IReadOnlyList<InformerChange> changes)
    {
        foreach (var change in changes)
        {
            if (informer.Find(change.Namespace, change.Name).Object?.Resource is PreviewGrant grant)
            {
                if (_store.Put(grant) is { Count: > 0 } problems)
                {
                    _invalid?.Invoke(grant, problems);
                }
            }
            else
            {
                _store.Remove(change.Namespace, change.Name);
            }
        }
    }
}
