using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>The list/watch sources of the kinds the control plane reads, all namespaces.</summary>
internal static class ResourceSources
{
    public static IReadOnlyList<IResourceSource> All(IKubernetes client) =>
    [
        new TypedSource<V1Service, V1ServiceList>(
            KubeService.KindName,
            ApiVersions.CoreV1,
            ct => client.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(cancellationToken: ct),
            list => (list.Items, list.Metadata?.ResourceVersion),
            (rv, onError, ct) => client.CoreV1.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct)),
        new TypedSource<V1EndpointSlice, V1EndpointSliceList>(
            EndpointSlice.KindName,
            ApiVersions.DiscoveryV1,
            ct => client.DiscoveryV1.ListEndpointSliceForAllNamespacesWithHttpMessagesAsync(cancellationToken: ct),
            list => (list.Items, list.Metadata?.ResourceVersion),
            (rv, onError, ct) => client.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, onError: onError, cancellationToken: ct)),
        new CustomSource(client, RouteGroup.KindName, "routegroups"),
        Sandboxes(client),
        new CustomSource(client, LocalWorkload.KindName, "localworkloads"),
    ];

    /// <summary>Sandboxes in all namespaces (what the Sandbox controller reconciles).</summary>
    public static IResourceSource Sandboxes(IKubernetes client) => new CustomSource(client, Sandbox.KindName, "sandboxes");

    /// <summary>Deployments labelled as forks of a Sandbox, in all namespaces (their readiness moves the Sandbox's status).</summary>
    public static IResourceSource ForkDeployments(IKubernetes client) => new TypedSource<V1Deployment, V1DeploymentList>(
        "Deployment",
        "apps/v1",
        ct => client.AppsV1.ListDeploymentForAllNamespacesWithHttpMessagesAsync(labelSelector: SandboxLabels.Sandbox, cancellationToken: ct),
        list => (list.Items, list.Metadata?.ResourceVersion),
        (rv, onError, ct) => client.AppsV1.WatchListDeploymentForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: SandboxLabels.Sandbox, resourceVersion: rv, onError: onError, cancellationToken: ct));

    /// <summary>Objects in list responses carry no apiVersion and kind; the reader needs them.</summary>
    private static JsonObject Typed(JsonObject obj, string apiVersion, string kind)
    {
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        return obj;
    }

    private sealed class TypedSource<T, TList>(
        string kind,
        string apiVersion,
        Func<CancellationToken, Task<HttpOperationResponse<TList>>> list,
        Func<TList, (IList<T> Items, string? ResourceVersion)> read,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch) : IResourceSource
        where T : class
    {
        public string Kind { get; } = kind;

        public async Task<ResourceList> ListAsync(CancellationToken cancellationToken)
        {
            using var response = await list(cancellationToken).ConfigureAwait(false);
            var (items, version) = read(response.Body);
            return new ResourceList([.. items.Select(i => Typed(JsonNode.Parse(KubernetesJson.Serialize(i))!.AsObject(), apiVersion, Kind))], version ?? "");
        }

        public async IAsyncEnumerable<(WatchEventType Type, JsonObject Object)> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var (type, item) in watch(resourceVersion, onError, cancellationToken).ConfigureAwait(false))
            {
                yield return (type, Typed(JsonNode.Parse(KubernetesJson.Serialize(item))!.AsObject(), apiVersion, Kind));
            }
        }
    }

    private sealed class CustomSource(IKubernetes client, string kind, string plural) : IResourceSource
    {
        public string Kind { get; } = kind;

        public async Task<ResourceList> ListAsync(CancellationToken cancellationToken)
        {
            using var response = await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<JsonElement>(
                CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            var list = JsonNode.Parse(response.Body.GetRawText())!;
            var items = list["items"]?.AsArray().OfType<JsonObject>().Select(i => Typed(i.DeepClone().AsObject(), ApiVersions.Sandboxctl, Kind)) ?? [];
            return new ResourceList([.. items], list["metadata"]?["resourceVersion"]?.GetValue<string>() ?? "");
        }

        public async IAsyncEnumerable<(WatchEventType Type, JsonObject Object)> WatchAsync(string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var events = client.CustomObjects.WatchListClusterCustomObjectAsync(
                CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, plural, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: cancellationToken);
            await foreach (var (type, item) in events.ConfigureAwait(false))
            {
                var json = item is JsonElement element ? element.GetRawText() : KubernetesJson.Serialize(item);
                yield return (type, Typed(JsonNode.Parse(json)!.AsObject(), ApiVersions.Sandboxctl, Kind));
            }
        }
    }
}
