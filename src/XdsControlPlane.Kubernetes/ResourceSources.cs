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
    /// <summary>
    /// Objects per list page (client-go's pager uses 500 too): a list of 10,000 RouteGroups arrives in 20 pages of about
    /// half a megabyte instead of one response of tens of megabytes held whole, with its parsed copies, while it is read.
    /// </summary>
    internal const int ListPageSize = 500;

    /// <summary>A bound on the pages of one list (a server that hands out continue tokens forever): 5 million objects.</summary>
    private const int MaxListPages = 10_000;

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

    /// <summary>PreviewGrants in one namespace, or all (what the preview authorization service decides from; never routing inputs).</summary>
    public static IResourceSource PreviewGrants(IKubernetes client, string? ns) => new CustomSource(client, PreviewGrant.KindName, "previewgrants", ns);

    /// <summary>Deployments labelled as forks of a Sandbox, in one namespace or all (their readiness moves the Sandbox's status).</summary>
    public static IResourceSource ForkDeployments(IKubernetes client, string? ns) => new TypedSource<V1Deployment, V1DeploymentList>("Deployment", "apps/v1", ns,
        (next, ct) => ns is null
            ? client.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(continueParameter: next, labelSelector: SandboxLabels.Sandbox, limit: ListPageSize, cancellationToken: ct)
            : client.AppsV1.ListNamespacedDeploymentWithHttpMessagesAsync(ns, continueParameter: next, labelSelector: SandboxLabels.Sandbox, limit: ListPageSize, cancellationToken: ct),
        (rv, onError, ct) => ns is null
            ? client.AppsV1.WatchListDeploymentForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: SandboxLabels.Sandbox, resourceVersion: rv, onError: onError, cancellationToken: ct)
            : client.AppsV1.WatchListNamespacedDeploymentAsync(ns, allowWatchBookmarks: true, labelSelector: SandboxLabels.Sandbox, resourceVersion: rv, onError: onError, cancellationToken: ct));

    private static TypedSource<V1Service, V1ServiceList> Services(IKubernetes client, string? ns) => new(KubeService.KindName, ApiVersions.CoreV1, ns,
        (next, ct) => ns is null
            ? client.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(continueParameter: next, limit: ListPageSize, cancellationToken: ct)
            : client.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, continueParameter: next, limit: ListPageSize, cancellationToken: ct),
        (rv, onError, ct) => ns is null
            ? client.CoreV1.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct)
            : client.CoreV1.WatchListNamespacedServiceAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct));

    private static TypedSource<V1EndpointSlice, V1EndpointSliceList> EndpointSlices(IKubernetes client, string? ns) => new(EndpointSlice.KindName, ApiVersions.DiscoveryV1, ns,
        (next, ct) => ns is null
            ? client.DiscoveryV1.ListEndpointSliceForAllNamespacesWithHttpMessagesAsync(continueParameter: next, limit: ListPageSize, cancellationToken: ct)
            : client.DiscoveryV1.ListNamespacedEndpointSliceWithHttpMessagesAsync(ns, continueParameter: next, limit: ListPageSize, cancellationToken: ct),
        (rv, onError, ct) => ns is null
            ? client.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct)
            : client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct));

    /// <summary>
    /// Lists page by page (<see cref="ListPageSize"/>), following <c>metadata.continue</c> until it is empty. The API
    /// server serves every page from the snapshot of the first, so the list's resource version is the first page's.
    /// An expired continue token fails the list with 410 Gone, and the informer lists again from the start.
    /// </summary>
    private static async Task<ResourceList> Paged(
        Func<string?, CancellationToken, Task<(List<JsonObject> Items, string? ResourceVersion, string? Continue)>> page,
        CancellationToken cancellationToken)
    {
        var items = new List<JsonObject>();
        string? resourceVersion = null;
        string? next = null;
        for (var pages = 0; ; pages++)
        {
            if (pages == MaxListPages)
            {
                throw new InvalidOperationException($"the list did not end after {MaxListPages} pages of {ListPageSize} objects");
            }

            var (pageItems, pageVersion, continueToken) = await page(next, cancellationToken).ConfigureAwait(false);
            items.AddRange(pageItems);
            resourceVersion ??= pageVersion;
            if (string.IsNullOrEmpty(continueToken))
            {
                return new ResourceList(items, resourceVersion ?? "");
            }

            next = continueToken;
        }
    }

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
        Func<string?, CancellationToken, Task<HttpOperationResponse<TList>>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch) : IResourceSource
        where T : class
        where TList : IKubernetesObject<V1ListMeta>, IItems<T>
    {
        public string Kind { get; } = kind;

        public string? Namespace { get; } = ns;

        public Task<ResourceList> ListAsync(CancellationToken cancellationToken) => Paged(async (next, ct) =>
        {
            using var response = await list(next, ct).ConfigureAwait(false);
            var items = response.Body.Items.Select(i => Typed(JsonNode.Parse(KubernetesJson.Serialize(i))!.AsObject(), apiVersion, Kind)).ToList();
            return (items, response.Body.Metadata?.ResourceVersion, response.Body.Metadata?.ContinueProperty);
        }, cancellationToken);

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

        public Task<ResourceList> ListAsync(CancellationToken cancellationToken) => Paged(async (next, ct) =>
        {
            using var response = ns is null
                ? await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<JsonObject>(
                    CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, plural, continueParameter: next, limit: ListPageSize, cancellationToken: ct).ConfigureAwait(false)
                : await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<JsonObject>(
                    CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, plural, continueParameter: next, limit: ListPageSize, cancellationToken: ct).ConfigureAwait(false);
            var list = response.Body;
            var items = new List<JsonObject>();
            if (list["items"] is JsonArray array)
            {
                items.AddRange(array.OfType<JsonObject>());
                array.Clear(); // detaches the items, so they are kept without a copy
            }

            return (items.ConvertAll(i => Typed(i, ApiVersions.Sandboxctl, Kind)), StringAt(list, "resourceVersion"), StringAt(list, "continue"));
        }, cancellationToken);

        private static string? StringAt(JsonObject list, string field) =>
            list["metadata"]?[field] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

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
