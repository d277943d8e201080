using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// Previews from the <c>status.previews</c> (and <c>spec.previews</c>) of the cluster's Sandboxes and LocalWorkloads,
/// and PreviewGrants as cluster objects, all with the caller's own credentials: RBAC decides who may mint, list and
/// revoke, and the admission webhook records who created each grant.
/// </summary>
internal sealed class ClusterPreviewStore(IKubernetes client, string ns) : IPreviewStore
{
    private const string Grants = "previewgrants";

    /// <inheritdoc />
    public string Namespace { get; } = ns;

    /// <inheritdoc />
    public async Task<IReadOnlyList<PreviewEntry>> PreviewsOfAsync(PreviewOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var plural = PluralOf(owner.Kind);
        var obj = await CallAsync(
            () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, plural, owner.Name, cancellationToken),
            "get", plural,
            notFound: new CliException($"{owner} not found.", owner.IsLocalWorkload ? "List them with: kubectl get localworkloads -n " + Namespace : "List them with: sandboxctl sandbox list -n " + Namespace, ExitCodes.UserError)).ConfigureAwait(false);
        return PreviewEntry.FromObject(owner, Parse(obj));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PreviewEntry>> AllPreviewsAsync(CancellationToken cancellationToken)
    {
        var previews = new List<PreviewEntry>();
        foreach (var kind in new[] { Sandbox.KindName, LocalWorkload.KindName })
        {
            foreach (var item in await ListAsync(PluralOf(kind), cancellationToken).ConfigureAwait(false))
            {
                if (JsonFields.Text(item["metadata"]?["name"]) is { Length: > 0 } name)
                {
                    previews.AddRange(PreviewEntry.FromObject(new PreviewOwner(kind, Namespace, name), item));
                }
            }
        }

        return previews;
    }

    /// <inheritdoc />
    public async Task<string> CreateGrantAsync(PreviewGrant grant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var body = CustomObjectClient.Body(grant, Namespace);
        var metadata = body["metadata"]!.AsObject();
        metadata.Remove("name");
        metadata["generateName"] = PreviewGrantMint.GenerateName;
        var created = await CallAsync(
            () => client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonElement>(body, ApiVersions.Group, ApiVersions.Version, Namespace, Grants, cancellationToken: cancellationToken),
            "create", Grants).ConfigureAwait(false);
        return JsonFields.Text(Parse(created)["metadata"]?["name"])
            ?? throw new CliException("the cluster created a PreviewGrant but did not say its name.", "List them with: sandboxctl preview list", ExitCodes.ConnectionError);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GrantView>> GrantsAsync(CancellationToken cancellationToken) =>
        [.. (await ListAsync(Grants, cancellationToken).ConfigureAwait(false)).Select(GrantView.FromObject).OfType<GrantView>()];

    /// <inheritdoc />
    public Task DeleteGrantAsync(string name, CancellationToken cancellationToken) =>
        CallAsync(
            () => client.CustomObjects.DeleteNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, Grants, name, cancellationToken: cancellationToken),
            "delete", Grants,
            notFound: new CliException($"PreviewGrant {Namespace}/{name} not found.", "List them with: sandboxctl preview list -n " + Namespace, ExitCodes.UserError));

    private async Task<IReadOnlyList<JsonObject>> ListAsync(string plural, CancellationToken cancellationToken)
    {
        var list = await CallAsync(
            () => client.CustomObjects.ListNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, plural, cancellationToken: cancellationToken),
            "list", plural).ConfigureAwait(false);
        return [.. (Parse(list)["items"] as JsonArray ?? []).OfType<JsonObject>()];
    }

    private static string PluralOf(string kind) => kind == LocalWorkload.KindName ? "localworkloads" : "sandboxes";

    private static JsonObject Parse(JsonElement element) => JsonNode.Parse(element.GetRawText()) as JsonObject ?? [];

    /// <summary>Turns API failures into one sentence: 403 names the permission (exit 1), an unknown kind the CRDs, connection failures exit 2.</summary>
    private async Task<T> CallAsync<T>(Func<Task<T>> call, string verb, string resource, CliException? notFound = null)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && notFound is not null)
        {
            throw notFound;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new CliException(
                $"the cluster does not allow you to {verb} {resource}.sandboxctl.io in namespace {Namespace} (403 Forbidden).",
                $"Check with: kubectl auth can-i {verb} {resource}.sandboxctl.io -n {Namespace}",
                ExitCodes.UserError);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new CliException(
                $"the cluster does not know {resource}.sandboxctl.io (404 Not Found).",
                "Install the CRDs: kubectl apply -f charts/xds-control-plane/crds/",
                ExitCodes.UserError);
        }
        catch (HttpOperationException e)
        {
            throw new CliException($"{verb} {resource} in {Namespace}: the cluster answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {e.Response.Content}", "Check the cluster and your permissions.", ExitCodes.ConnectionError);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError);
        }
    }
}
