using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Watches one Secret by name: an informer (<see cref="ResourceInformer"/>: list, watch from the list's version with
/// bookmarks, relist on 410 Gone, backoff with jitter) over the namespace's Secrets selected by the field selector
/// <c>metadata.name=NAME</c>, so RBAC can grant <c>get</c>, <c>list</c> and <c>watch</c> on that one name. Each list and
/// event hands the Secret (or null once it is absent or deleted) to the callback; the informer itself keeps only
/// metadata, never the Secret's data.
/// </summary>
/// <param name="client">The API client.</param>
/// <param name="namespace">The Secret's namespace.</param>
/// <param name="name">The Secret's name.</param>
/// <param name="clock">Time, for the informer's backoff.</param>
/// <param name="logger">Where list/watch trouble is logged.</param>
public sealed class SingleSecretWatch(IKubernetes client, string @namespace, string name, TimeProvider clock, ILogger logger)
{
    /// <summary>
    /// Lists and watches until <paramref name="cancellationToken"/> fires, calling <paramref name="changed"/> (from one
    /// thread at a time) with the Secret after every list and change, and with null when it is absent or deleted.
    /// </summary>
    public Task RunAsync(Action<V1Secret?> changed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changed);
        var informer = new ResourceInformer(new Source(client, @namespace, name, changed), clock, logger, new Random());
        return informer.RunAsync(cancellationToken);
    }

    /// <summary>The one Secret, listed and watched through the typed API; the informer gets its metadata only.</summary>
    private sealed class Source(IKubernetes client, string ns, string name, Action<V1Secret?> changed) : IResourceSource
    {
        private readonly string _selector = $"metadata.name={name}";

        public string Kind => "Secret";

        public string? Namespace => ns;

        public async Task<ResourceList> ListAsync(CancellationToken cancellationToken)
        {
            using var response = await client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(ns, fieldSelector: _selector, cancellationToken: cancellationToken).ConfigureAwait(false);
            var secret = response.Body.Items.FirstOrDefault(s => s.Metadata?.Name == name);
            changed(secret);
            return new ResourceList(secret is null ? [] : [MetadataOf(secret)], response.Body.Metadata?.ResourceVersion ?? "");
        }

        public async IAsyncEnumerable<(WatchEventType Type, JsonObject Object)> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var events = client.CoreV1.WatchListNamespacedSecretAsync(ns, allowWatchBookmarks: true, fieldSelector: _selector, resourceVersion: resourceVersion, onError: onError, cancellationToken: cancellationToken);
            await foreach (var (type, secret) in events.ConfigureAwait(false))
            {
                if (type is WatchEventType.Added or WatchEventType.Modified && secret.Metadata?.Name == name)
                {
                    changed(secret);
                }
                else if (type == WatchEventType.Deleted && secret.Metadata?.Name == name)
                {
                    changed(null);
                }

                yield return (type, MetadataOf(secret));
            }
        }

        /// <summary>The Secret without its data: what the informer keeps.</summary>
        private static JsonObject MetadataOf(V1Secret secret) => new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject
            {
                ["name"] = secret.Metadata?.Name,
                ["namespace"] = secret.Metadata?.NamespaceProperty,
                ["resourceVersion"] = secret.Metadata?.ResourceVersion,
            },
        };
    }
}
