using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace Sandboxctl.Local;

/// <summary>
/// The agent's LocalWorkload in the cluster (Kubernetes mode), created with the developer's own credentials so the
/// cluster's RBAC decides who may stand in for a Service: preflight (the Service and its ports, the Sandbox, the
/// exposed Services), create with <c>spec.secretHash</c> (refusing a workload another agent holds unless
/// <c>--force</c>, which replaces the hash), and delete on the way out. Every API failure is one sentence naming the
/// verb and resource, with the <c>kubectl auth can-i</c> command that checks it.
/// </summary>
internal sealed class LocalWorkloadRegistration(IKubernetes client, string ns, string name)
{
    private const string Plural = "localworkloads";

    /// <summary>The LocalWorkload's namespace.</summary>
    public string Namespace { get; } = ns;

    /// <summary>The LocalWorkload's name.</summary>
    public string Name { get; } = name;

    /// <summary>
    /// The workload's ports with their protocols from the Service, after checking that the Service, each REMOTE port and
    /// the Sandbox exist; also sets the protocol of each exposed Service port (exits 1 naming what is missing).
    /// </summary>
    public async Task<IReadOnlyList<LocalPort>> PreflightAsync(string service, IReadOnlyList<ServedPort> ports, string? sandbox, IReadOnlyList<ExposedListener> exposed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(exposed);
        var found = await ServiceAsync(Namespace, service, "--service", cancellationToken).ConfigureAwait(false);
        var local = ports.Select(p => new LocalPort { Port = p.RemotePort, Protocol = ProtocolOf(PortOf(found, p.RemotePort, $"--port {p.LocalPort}:{p.RemotePort}")) }).ToList();

        if (sandbox is not null)
        {
            await CallAsync(
                () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, "sandboxes", sandbox, cancellationToken),
                "get", "sandboxes.sandboxctl.io",
                notFound: new CliException($"Sandbox {Namespace}/{sandbox} not found (--sandbox {sandbox}).", $"List them with: sandboxctl sandbox list -n {Namespace}", ExitCodes.UserError)).ConfigureAwait(false);
        }

        foreach (var listener in exposed)
        {
            var (targetNs, targetName) = listener.Exposed.Service.Split('.') is [var n, var s] ? (s, n) : (Namespace, listener.Exposed.Service);
            var target = await ServiceAsync(targetNs, targetName, $"--expose {listener.Exposed.Service}:{listener.Exposed.Port}={listener.Exposed.LocalPort}", cancellationToken).ConfigureAwait(false);
            listener.Protocol = ProtocolOf(PortOf(target, listener.Exposed.Port, $"--expose {listener.Exposed.Service}:{listener.Exposed.Port}={listener.Exposed.LocalPort}"));
        }

        return local;
    }

    /// <summary>
    /// Creates the LocalWorkload with <paramref name="secretHash"/>, the <c>--expose</c> targets in <c>spec.expose</c> and
    /// the <c>--preview</c>s in <c>spec.previews</c>; when it exists, refuses with the holder's state
    /// (phase, heartbeat age) unless <paramref name="force"/>, which replaces its spec (and so its secret hash).
    /// </summary>
    public async Task CreateAsync(string service, string? sandbox, string? routingKey, IReadOnlyList<LocalPort> ports, IReadOnlyList<string> expose, IReadOnlyList<RequestedPreview> previews, string secretHash, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(expose);
        ArgumentNullException.ThrowIfNull(previews);
        var spec = new JsonObject
        {
            ["service"] = service,
            ["ports"] = new JsonArray([.. ports.Select(p => (JsonNode)new JsonObject { ["port"] = p.Port, ["protocol"] = p.Protocol })]),
            ["secretHash"] = secretHash,
        };
        if (expose.Count > 0)
        {
            // The Services of other namespaces the broker may dial for this workload come from here (RBAC decides who writes it).
            spec["expose"] = new JsonArray([.. expose.Distinct(StringComparer.Ordinal).Select(e => (JsonNode)new JsonObject { ["service"] = e })]);
        }

        if (previews.Count > 0)
        {
            // The gateway's preview hosts come from here; the webhook records who created it, the owner of personal previews.
            spec["previews"] = new JsonArray([.. previews.Select(p => (JsonNode)new JsonObject { ["port"] = p.Port, ["access"] = p.Access })]);
        }

        if (sandbox is not null)
        {
            spec["sandbox"] = sandbox;
        }
        else
        {
            spec["routingKey"] = routingKey;
        }

        var body = new JsonObject
        {
            ["apiVersion"] = ApiVersions.Sandboxctl,
            ["kind"] = LocalWorkload.KindName,
            ["metadata"] = new JsonObject { ["name"] = Name, ["namespace"] = Namespace, ["labels"] = new JsonObject { ["app.kubernetes.io/managed-by"] = "sandboxctl-local" } },
            ["spec"] = spec,
        };

        try
        {
            await client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonElement>(body, ApiVersions.Group, ApiVersions.Version, Namespace, Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Exists: someone's agent, or a stale one.
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw Failure(e, "create", $"{Plural}.sandboxctl.io");
        }

        var existing = Parse(await CallAsync(
            () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, Plural, Name, cancellationToken),
            "get", $"{Plural}.sandboxctl.io").ConfigureAwait(false));
        if (!force)
        {
            throw new CliException(
                $"LocalWorkload {Namespace}/{Name} already exists ({Holder(existing)}).",
                $"If it is yours and stale, take it over with --force (the agent holding it is then refused); else pick another name with --name.",
                ExitCodes.UserError);
        }

        // A merge patch (the verb the chart's role grants, not update) that replaces the whole spec — fields the new spec
        // lacks are removed — conditional on the version read, so a change meanwhile is not overwritten unseen.
        var replacement = spec.DeepClone().AsObject();
        foreach (var (field, _) in existing["spec"] as JsonObject ?? [])
        {
            if (!replacement.ContainsKey(field))
            {
                replacement[field] = null;
            }
        }

        var patch = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = existing["metadata"]?["resourceVersion"]?.DeepClone() }, ["spec"] = replacement };
        await CallAsync(
            () => client.CustomObjects.PatchNamespacedCustomObjectAsync<JsonElement>(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), ApiVersions.Group, ApiVersions.Version, Namespace, Plural, Name, cancellationToken: cancellationToken),
            "patch", $"{Plural}.sandboxctl.io").ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the LocalWorkload; one that is gone already is fine. With <paramref name="onlyWithHash"/>, only while its
    /// <c>spec.secretHash</c> is still that one (and not changed meanwhile: the delete is conditional on the version read),
    /// so an agent never deletes a workload another agent took over with <c>--force</c>; returns false when it left it.
    /// </summary>
    public async Task<bool> DeleteAsync(CancellationToken cancellationToken, string? onlyWithHash = null)
    {
        try
        {
            V1DeleteOptions? options = null;
            if (onlyWithHash is not null)
            {
                var found = Parse(await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, Plural, Name, cancellationToken).ConfigureAwait(false));
                if ((string?)found["spec"]?["secretHash"] != onlyWithHash)
                {
                    return false;
                }

                options = new V1DeleteOptions { Preconditions = new V1Preconditions { ResourceVersion = (string?)found["metadata"]?["resourceVersion"] } };
            }

            await client.CustomObjects.DeleteNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, Plural, Name, body: options, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Changed between the read and the delete: someone else's now.
            return false;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return true;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw Failure(e, "delete", $"{Plural}.sandboxctl.io");
        }
    }

    /// <summary>The LocalWorkload's phase and heartbeat age, or null when it does not exist.</summary>
    public async Task<(string Phase, TimeSpan? HeartbeatAge)?> StateAsync(TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        try
        {
            var found = Parse(await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(ApiVersions.Group, ApiVersions.Version, Namespace, Plural, Name, cancellationToken).ConfigureAwait(false));
            return ((string?)found["status"]?["phase"] ?? LocalWorkloadPhase.Pending, HeartbeatAge(found, clock));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw Failure(e, "get", $"{Plural}.sandboxctl.io");
        }
    }

    /// <summary>http, grpc or tcp for a Service port, as the translation classifies it (<see cref="XdsControlPlane.Translation.LocalWorkloadProtocols"/>).</summary>
    internal static string ProtocolOf(V1ServicePort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        return XdsControlPlane.Translation.LocalWorkloadProtocols.Of(new KubeServicePort { Name = port.Name, Port = port.Port, AppProtocol = port.AppProtocol });
    }

    private static string Holder(JsonObject existing)
    {
        var phase = (string?)existing["status"]?["phase"] ?? LocalWorkloadPhase.Pending;
        return HeartbeatAge(existing, TimeProvider.System) is { } age
            ? $"phase {phase}, last heartbeat {age.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s ago"
            : $"phase {phase}, no heartbeat";
    }

    private static TimeSpan? HeartbeatAge(JsonObject workload, TimeProvider clock) =>
        DateTimeOffset.TryParse((string?)workload["status"]?["tunnel"]?["lastHeartbeat"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var beat)
            ? clock.GetUtcNow() - beat
            : null;

    private static V1ServicePort PortOf(V1Service service, int port, string option) =>
        service.Spec?.Ports?.FirstOrDefault(p => p.Port == port)
        ?? throw new CliException(
            $"Service {service.Metadata.NamespaceProperty}/{service.Metadata.Name} has no port {port} ({option}).",
            $"Its ports: {string.Join(", ", service.Spec?.Ports?.Select(p => p.Name is null ? $"{p.Port}" : $"{p.Port} ({p.Name})") ?? [])}.",
            ExitCodes.UserError);

    private async Task<V1Service> ServiceAsync(string serviceNamespace, string service, string option, CancellationToken cancellationToken) =>
        await CallAsync(
            () => client.CoreV1.ReadNamespacedServiceAsync(service, serviceNamespace, cancellationToken: cancellationToken),
            "get", "services",
            notFound: new CliException($"Service {serviceNamespace}/{service} not found ({option}).", $"List them with: kubectl get services -n {serviceNamespace}", ExitCodes.UserError),
            ns: serviceNamespace).ConfigureAwait(false);

    private static JsonObject Parse(JsonElement element) => JsonNode.Parse(element.GetRawText())!.AsObject();

    private async Task<T> CallAsync<T>(Func<Task<T>> call, string verb, string resource, CliException? notFound = null, string? ns = null)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && notFound is not null)
        {
            throw notFound;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw Failure(e, verb, resource, ns);
        }
    }

    private CliException Failure(Exception e, string verb, string resource, string? ns = null) => e switch
    {
        HttpOperationException { Response.StatusCode: HttpStatusCode.Forbidden } => new CliException(
            $"the cluster does not allow you to {verb} {resource} in namespace {ns ?? Namespace} (403 Forbidden).",
            $"Check with: kubectl auth can-i {verb} {resource} -n {ns ?? Namespace}",
            ExitCodes.UserError),
        HttpOperationException http => new CliException(
            $"{verb} {resource} in {ns ?? Namespace}: the cluster answered {(int)http.Response.StatusCode} {http.Response.StatusCode}: {http.Response.Content}",
            "Check that the CRDs are installed (kubectl apply -f charts/xds-control-plane/crds/).",
            ExitCodes.ConnectionError),
        _ => new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError),
    };
}
