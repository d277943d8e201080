namespace XdsControlPlane.Kubernetes;

/// <summary>
/// One informer per kind and namespace for the whole process, shared by every component that reads that kind (the
/// source and the Sandbox controller both read Sandboxes): each kind is listed and watched once. Register one per
/// host; components built without it keep their own. Informers are keyed by kind and namespace, so every source of a
/// kind must select the same objects (the fork Deployments, selected by label, are the only Deployments read).
/// </summary>
/// <param name="clock">Time, for the informers' backoff.</param>
/// <param name="logger">Where list and watch trouble is logged.</param>
/// <param name="random">
/// Where the backoff jitter comes from (<see cref="Random.Shared"/> when null; seeded in tests): each informer draws from
/// its own <see cref="Random"/>, seeded from this one as it is made.
/// </param>
public sealed class KubernetesInformers(TimeProvider clock, ILogger logger, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Kind, string? Namespace), ResourceInformer> _informers = [];

    /// <summary>The kinds (and namespaces) watched, each once.</summary>
    public IReadOnlyList<string> Watched
    {
        get
        {
            lock (_gate)
            {
                return [.. _informers.Values.Select(i => i.Name).Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The informer of <paramref name="source"/>'s kind and namespace: the one already made, or a new one over <paramref name="source"/>.</summary>
    internal ResourceInformer For(IResourceSource source)
    {
        lock (_gate)
        {
            var key = (source.Kind, source.Namespace);
            if (!_informers.TryGetValue(key, out var informer))
            {
                _informers[key] = informer = new ResourceInformer(source, clock, logger, new Random(_random.Next()));
            }

            return informer;
        }
    }
}
