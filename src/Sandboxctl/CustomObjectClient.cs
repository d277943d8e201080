using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using Spectre.Console;
using XdsControlPlane.Model;

namespace Sandboxctl;

/// <summary>
/// One kind of namespaced <c>sandboxctl.io</c> custom object through the official KubernetesClient, the way the CLI
/// uses it: API failures become one sentence (a 404 names the object, an unreachable cluster exits 2),
/// create-or-replace like <c>kubectl apply</c>, and polling with a spinner for <c>--wait</c>.
/// </summary>
/// <param name="client">The client of the selected kubeconfig context.</param>
/// <param name="plural">The resource's plural, such as <c>routegroups</c>.</param>
/// <param name="kind">The kind, such as <c>RouteGroup</c>, for messages.</param>
/// <param name="command">The <c>sandboxctl</c> command of the kind, such as <c>routegroup</c>, for hints.</param>
internal sealed class CustomObjectClient(IKubernetes client, string plural, string kind, string command)
{
    private static readonly string[] KeptOnReplace = ["finalizers", "ownerReferences"];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The object; exits 1 when it does not exist.</summary>
    public async Task<JsonObject> GetAsync(string ns, string name, CancellationToken cancellationToken) =>
        Parse(await CallAsync(() => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(
            ApiVersions.Group, ApiVersions.Version, ns, plural, name, cancellationToken), $"{kind} {ns}/{name}").ConfigureAwait(false));

    /// <summary>The objects of the namespace.</summary>
    public async Task<JsonArray> ListAsync(string ns, CancellationToken cancellationToken) =>
        Parse(await CallAsync(() => client.CustomObjects.ListNamespacedCustomObjectAsync<JsonElement>(
            ApiVersions.Group, ApiVersions.Version, ns, plural, cancellationToken: cancellationToken)).ConfigureAwait(false))["items"]?.AsArray() ?? [];

    /// <summary>Deletes the object; exits 1 when it does not exist.</summary>
    public Task DeleteAsync(string ns, string name, CancellationToken cancellationToken) =>
        CallAsync(() => client.CustomObjects.DeleteNamespacedCustomObjectAsync<JsonElement>(
            ApiVersions.Group, ApiVersions.Version, ns, plural, name, cancellationToken: cancellationToken), $"{kind} {ns}/{name}");

    /// <summary>Creates the object; exits 1 with <paramref name="existsHint"/> when it already exists.</summary>
    /// <returns>The generation the server gave it.</returns>
    public async Task<long?> CreateAsync(string ns, JsonObject body, string existsHint, CancellationToken cancellationToken)
    {
        try
        {
            return Generation(await CallAsync(() => client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonElement>(
                body, ApiVersions.Group, ApiVersions.Version, ns, plural, cancellationToken: cancellationToken), conflictThrows: true).ConfigureAwait(false));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            throw new CliException($"{kind} {ns}/{(string?)body["metadata"]?["name"]} already exists.", existsHint, ExitCodes.UserError);
        }
    }

    /// <summary>Replaces the object, or creates it when it does not exist (what <c>kubectl apply</c> reports).</summary>
    /// <returns>Whether it was created, and the generation the server gave it.</returns>
    public Task<(bool Created, long? Generation)> UpsertAsync(string ns, string name, JsonObject body, CancellationToken cancellationToken) => CallAsync(async () =>
    {
        try
        {
            var current = Parse(await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, ns, plural, name, cancellationToken).ConfigureAwait(false));
            var metadata = body["metadata"]!.AsObject();
            metadata["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();

            // A replace sets all of metadata: keep what controllers added (the Sandbox controller's finalizer, owners),
            // which the file does not carry and kubectl apply would not remove either.
            foreach (var field in KeptOnReplace)
            {
                if (metadata[field] is null && current["metadata"]![field] is { } kept)
                {
                    metadata[field] = kept.DeepClone();
                }
            }

            var replaced = await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<JsonElement>(body, ApiVersions.Group, ApiVersions.Version, ns, plural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (false, Generation(replaced));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            var created = await client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonElement>(body, ApiVersions.Group, ApiVersions.Version, ns, plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (true, Generation(created));
        }
    });

    /// <summary>
    /// Polls the object behind a spinner until <paramref name="settled"/> returns true (it throws a
    /// <see cref="CliException"/> to fail), or exits 2 after <paramref name="timeout"/>.
    /// </summary>
    /// <param name="cli">Where the spinner goes.</param>
    /// <param name="ns">The object's namespace.</param>
    /// <param name="name">The object's name.</param>
    /// <param name="state">What is waited for, such as <c>programmed</c>, for messages.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="settled">Looks at the current object.</param>
    /// <param name="timeoutHint">What to look at when the wait times out.</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <returns>The object as it was when it settled.</returns>
    public async Task<JsonObject> WaitAsync(CliOutput cli, string ns, string name, string state, TimeSpan timeout, Func<JsonObject, bool> settled, string timeoutHint, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        return await cli.Console.Status().StartAsync($"Waiting for {ns}/{name} to be {state}…", async _ =>
        {
            while (clock.Elapsed < timeout)
            {
                var current = await GetAsync(ns, name, cancellationToken).ConfigureAwait(false);
                if (settled(current))
                {
                    return current;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }

            throw new CliException($"{kind} {ns}/{name} was not {state} within {timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s.", timeoutHint, ExitCodes.ConnectionError);
        }).ConfigureAwait(false);
    }

    /// <summary>The request body for a model object: in <paramref name="ns"/>, without status or server-set metadata.</summary>
    public static JsonObject Body(IManifestObject obj, string ns)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var json = JsonSerializer.SerializeToNode(obj, obj.GetType(), Json)!.AsObject();
        json.Remove("status");
        var metadata = json["metadata"]!.AsObject();
        metadata["namespace"] = ns;
        metadata.Remove("generation");
        metadata.Remove("resourceVersion");
        return json;
    }

    /// <summary>The namespace to apply an object of a file in: the file's, else <c>-n</c> / the context's.</summary>
    public static string NamespaceOf(string fileNamespace, string target) =>
        fileNamespace == ObjectMeta.DefaultNamespace && target != ObjectMeta.DefaultNamespace ? target : fileNamespace;

    /// <summary><c>--timeout</c> of <c>--wait</c>: a Go-style duration (<c>90s</c>, <c>2m</c>) or <c>hh:mm:ss</c>, default 2 minutes, at most 24 hours.</summary>
    public static Option<TimeSpan> TimeoutOption() =>
        DurationOption.Create("--timeout", "How long --wait waits: 90s, 2m or hh:mm:ss (at most 24h).", TimeSpan.FromMinutes(2), DurationRanges.CliWait);

    /// <summary>Prints <paramref name="headline"/> and how to send requests with the routing key.</summary>
    public static void WriteRoutingKeyUsage(CliOutput cli, string headline, string key, string host)
    {
        ArgumentNullException.ThrowIfNull(cli);
        cli.WriteText($"{headline} Routing key: {key}\n");
        cli.WriteText($"  curl -H 'x-routing-key: {key}' http://{host}/\n");
        cli.WriteText($"  or propagate it in W3C baggage: baggage: routing-key={key}\n");
    }

    private static JsonObject Parse(JsonElement element) => JsonNode.Parse(element.GetRawText())!.AsObject();

    private static long? Generation(JsonElement element) => (long?)Parse(element)["metadata"]?["generation"];

    /// <summary>Turns API failures into one sentence: 404 names the object, connection failures exit with 2.</summary>
    private async Task<T> CallAsync<T>(Func<Task<T>> call, string? what = null, bool conflictThrows = false)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && what is not null)
        {
            throw new CliException($"{what} not found.", $"List them with: sandboxctl {command} list", ExitCodes.UserError);
        }
        catch (HttpOperationException e) when (!(conflictThrows && e.Response.StatusCode == HttpStatusCode.Conflict))
        {
            throw new CliException($"the cluster answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {e.Response.Content}", "Check that the CRDs are installed (kubectl apply -f charts/xds-control-plane/crds/) and your permissions.", ExitCodes.ConnectionError);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError);
        }
    }
}
