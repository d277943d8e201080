using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>The list/watch sources of the kinds the control plane reads: in all namespaces, or per watched namespace.</summary>
internal static class ResourceSources
{
    /// <summary>Every kind the source reads, in all namespaces when <paramref name="namespaces"/> is empty, else one source per kind and namespace.</summary>
    public static IReadOnlyList<IResourceSource> All(IKubernetes client, IReadOnlyList<string> namespaces) =>
    [
        .. Scoped(namespaces, ns => Services(client, ns)),
        .. Scoped(namespaces, ns => EndpointSlices(client, ns)),
        .. Scoped(namespaces, ns => new CustomSource(client, RouteGroup.KindName, "routegroups", ns)),
        .. Scoped(namespaces, ns => Sandboxes(client, ns)),
        .. Scoped(namespaces, ns => new CustomSource(client, LocalWorkload.KindName, "localworkloads", ns)),
    ];

    /// <summary>One source for all namespaces (<paramref name="namespaces"/> empty) or one per namespace.</summary>
    public static IEnumerable<IResourceSource> Scoped(IReadOnlyList<string> namespaces, Func<string?, IResourceSource> make) =>
        namespaces.Count == 0 ? [make(null)] : namespaces.Select(ns => make(ns));

    /// <summary>Sandboxes in one namespace, or all (what the Sandbox controller reconciles).</summary>
    public static IResourceSource Sandboxes(IKubernetes client, string? ns) => new CustomSource(client, Sandbox.KindName, "sandboxes", ns);

    /// <summary>Deployments labelled as forks of a Sandbox, in one namespace or all (their readiness moves the Sandbox's status).</summary>
    public static IResourceSource ForkDeployments(IKubernetes client, string? ns) => new TypedSource<V1Deployment, V1DeploymentList>("Deployment", "apps/v1", ns,
        ct => ns is null
            ? client.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(labelSelector: SandboxLabels.Sandbox, cancellationToken: ct)
            : client.AppsV1.ListNamespacedDeploymentWithHttpMessagesAsync(ns, labelSelector: SandboxLabels.Sandbox, cancellationToken: ct),
        (rv, onError, ct) => ns is null
            ? client.AppsV1.WatchListDeploymentForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: SandboxLabels.Sandbox, resourceVersion: rv, onError: onError, cancellationToken: ct)
            : client.AppsV1.WatchListNamespacedDeploymentAsync(ns, allowWatchBookmarks: true, labelSelector: SandboxLabels.Sandbox, resourceVersion: rv, onError: onError, cancellationToken: ct));

    private static TypedSource<V1Service, V1ServiceList> Services(IKubernetes client, string? ns) => new(KubeService.KindName, ApiVersions.CoreV1, ns,
        ct => ns is null ? client.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(cancellationToken: ct) : client.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, cancellationToken: ct),
        (rv, onError, ct) => ns is null
            ? client.CoreV1.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct)
            : client.CoreV1.WatchListNamespacedServiceAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct));

    private static TypedSource<V1EndpointSlice, V1EndpointSliceList> EndpointSlices(IKubernetes client, string? ns) => new(EndpointSlice.KindName, ApiVersions.DiscoveryV1, ns,
        ct => ns is null ? client.DiscoveryV1.ListEndpointSliceForAllNamespacesWithHttpMessagesAsync(cancellationToken: ct) : client.DiscoveryV1.ListNamespacedEndpointSliceWithHttpMessagesAsync(ns, cancellationToken: ct),
        (rv, onError, ct) => ns is null
            ? client.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct)
            : client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct));

    /// <summary>Objects in list responses carry no apiVersion and kind; the reader needs them.</summary>
    private static JsonObject Typed(JsonObject obj, string apiVersion, string kind)
    {
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        return obj;
    }

    /// <summary>A built-in kind, listed and watched through its typed API (in all namespaces or one, as the calls choose).</summary>
    private sealed class TypedSource<T, TList>(
        string kind,
        string apiVersion,
        string? ns,
        Func<CancellationToken, Task<HttpOperationResponse<TList>>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch) : IResourceSource
        where T : class
        where TList : IKubernetesObject<V1ListMeta>, IItems<T>
    {
        public string Kind { get; } = kind;

        public string? Namespace { get; } = ns;

        public async Task<ResourceList> ListAsync(CancellationToken cancellationToken)
        {
            using var response = await list(cancellationToken).ConfigureAwait(false);
            var items = response.Body.Items;
            return new ResourceList([.. items.Select(i => Typed(JsonNode.Parse(KubernetesJson.Serialize(i))!.AsObject(), apiVersion, Kind))], response.Body.Metadata?.ResourceVersion ?? "");
        }

        public async IAsyncEnumerable<(WatchEventType Type, JsonObject Object)> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var (type, item) in watch(resourceVersion, onError, cancellationToken).ConfigureAwait(false))
            {
                yield return (type, Typed(JsonNode.Parse(KubernetesJson.Serialize(item))!.AsObject(), apiVersion, Kind));
            }
        }
    }

    private sealed class CustomSource(IKubernetes client, string kind, string plural, string? ns) : IResourceSource
    {
        public string Kind { get; } = kind;

        public string? Namespace => ns;

        public async Task<ResourceList> ListAsync(CancellationToken cancellationToken)
        {
            using var response = ns is null
                ? await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<JsonElement>(
                    CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, plural, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<JsonElement>(
                    CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            var list = JsonNode.Parse(response.Body.GetRawText())!;
            var items = list["items"]?.AsArray().OfType<JsonObject>().Select(i => Typed(i.DeepClone().AsObject(), ApiVersions.Sandboxctl, Kind)) ?? [];
            return new ResourceList([.. items], list["metadata"]?["resourceVersion"]?.GetValue<string>() ?? "");
        }

        public async IAsyncEnumerable<(WatchEventType Type, JsonObject Object)> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var events = ns is null
                ? client.CustomObjects.WatchListClusterCustomObjectAsync(
                    CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, plural, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: cancellationToken)
                : client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                    CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, plural, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: cancellationToken);
            await foreach (var (type, item) in events.ConfigureAwait(false))
            {
                var json = item is JsonElement element ? element.GetRawText() : KubernetesJson.Serialize(item);
                yield return (type, Typed(JsonNode.Parse(json)!.AsObject(), ApiVersions.Sandboxctl, Kind));
            }
        }
    }
}
