using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.LocalWorkloads;

/// <summary>
/// The Kubernetes mode's LocalWorkloads. The agent creates the object with the user's own credentials — so the
/// cluster's RBAC decides who may put a laptop into a sandbox — and stores the SHA-256 of a fresh secret in
/// <c>spec.secretHash</c>; the broker reads the object from the API server and admits the agent whose secret hashes
/// to it. The broker then writes the tunnel to the object's status (replica, address, broker ports: every replica
/// translates the same endpoint), heartbeats while pings arrive; when the stream is lost it writes <c>Disconnected</c>
/// at once (routes withdrawn, address and broker ports kept for the reconnect grace), and on goodbye (or after the
/// grace) withdraws the tunnel, so its routes fall back to the baseline. The leader ages heartbeats into phases. Outbound
/// targets in other namespaces are those the object names (<c>spec.expose</c>), never what the agent's Hello says.
/// When the API server refuses the control plane's own read or Connected write (its RBAC lacks a rule), the agent is
/// refused with <c>FAILED_PRECONDITION</c> naming the verb and resource — not retried: only an admin can fix it — and
/// the server logs one warning saying which rule is missing.
/// </summary>
internal sealed class KubernetesLocalWorkloads(IKubernetes client, RoutingInputsStore inputsInForce, OutboundTargets outbound, string replica, Func<Translation.TranslationOptions> translation, ILogger logger) : ILocalWorkloadRegistry
{
    private const string Plural = "localworkloads";

    /// <summary>How often a conditional status write is tried again when the object changed under it.</summary>
    private const int ConflictAttempts = 3;

    /// <summary>The claim each workload's last Connected write was for: a lost stream withdraws routes only if it is still that one.</summary>
    private readonly ConcurrentDictionary<string, WorkloadClaim> _connected = new(StringComparer.Ordinal);

    /// <summary>Serializes a workload's Connected and Disconnected writes (striped by key), so they reach the API server in order.</summary>
    private readonly SemaphoreSlim[] _gates = [.. Enumerable.Range(0, 32).Select(_ => new SemaphoreSlim(1, 1))];

    /// <inheritdoc />
    public string Mode => "kubernetes";

    /// <inheritdoc />
    public bool TokenRequired => false;

    /// <inheritdoc />
    public async Task<WorkloadClaim> ClaimAsync(Hello hello, IPAddress? peer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hello);
        var key = $"{hello.Namespace}/{hello.LocalWorkload}";
        var json = await GetAsync(hello.Namespace, hello.LocalWorkload, cancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"LocalWorkload {key} not found: sandboxctl local connect creates it with your credentials before it connects"));
        var read = ManifestReader.Read(json, $"LocalWorkload {key}");
        if (read.Problems.Count > 0 || (read.Objects.Count > 0 ? read.Objects[0].Resource : null) is not LocalWorkload workload)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"LocalWorkload {key} is invalid: {string.Join("; ", read.Problems.Select(p => p.ToString()))}"));
        }

        if (workload.Spec.SecretHash is not { } hash)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"LocalWorkload {key} has no spec.secretHash, so no agent can prove it may act for it; recreate it with sandboxctl local connect"));
        }

        if (!WorkloadClaims.Matches(hello.Secret, hash))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"the agent's secret does not match spec.secretHash of LocalWorkload {key} (another agent took it over with --force?)"));
        }

        var inputs = inputsInForce.Current ?? throw new RpcException(new Status(StatusCode.Unavailable, "the control plane has not read the cluster yet"));
        var claim = WorkloadClaims.Build(inputs, hello.Namespace, hello.LocalWorkload, workload.Spec.Sandbox, workload.Spec.RoutingKey, workload.Spec.Service, workload.Spec.Ports.Select(p => p.Port), hello.SessionId, [.. workload.Spec.Expose.Select(e => e.Service)]);

        // The object's previews count (RBAC decided who wrote them), never the Hello's.
        var previews = WorkloadPreviews.Of(claim, [.. workload.Spec.Previews.Select(p => (p.Port, p.Access))], translation().PreviewDomain, translation().PreviewSalt);
        return claim with { SecretHash = hash, Previews = previews };
    }

    /// <inheritdoc />
    public async Task ConnectedAsync(WorkloadClaim claim, TunnelPlacement placement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(placement);
        var connected = placement.ConnectedAt.ToString("o", CultureInfo.InvariantCulture);
        var gate = Gate(claim.Key);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await PatchStatusAsync(claim, new JsonObject
            {
                ["phase"] = LocalWorkloadPhase.Connected,
                ["routingKey"] = claim.RoutingKey,
                ["tunnel"] = new JsonObject
                {
                    ["replica"] = placement.Replica,
                    ["address"] = placement.Address,
                    ["ports"] = new JsonArray([.. placement.Ports.Select(p => (JsonNode)new JsonObject { ["port"] = p.Port, ["brokerPort"] = p.BrokerPort })]),
                    ["connectedAt"] = connected,
                    ["lastHeartbeat"] = connected,
                },
            }, required: true, cancellationToken).ConfigureAwait(false);
            _connected[claim.Key] = claim;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Writes <c>phase: Disconnected</c> and removes <c>tunnel.connectedAt</c>, keeping the tunnel's address and broker
    /// ports: every replica withdraws the routes (the phase is not routable) while the reservation stays, and the leader
    /// keeps the phase (<see cref="HeartbeatPhases"/>). Only while this replica holds the tunnel for this agent,
    /// conditional on the version read, so a reconnect through another replica is never undone.
    /// </summary>
    public async Task DetachedAsync(WorkloadClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var gate = Gate(claim.Key);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_connected.TryGetValue(claim.Key, out var last) || !ReferenceEquals(last, claim))
            {
                return;
            }

            for (var attempt = 1; attempt <= ConflictAttempts; attempt++)
            {
                var json = await GetAsync(claim.Namespace, claim.Name, cancellationToken).ConfigureAwait(false);
                if (json?["status"]?["tunnel"] is not JsonObject tunnel || (string?)tunnel["address"] is null || (string?)tunnel["replica"] != replica
                    || (string?)json["spec"]?["secretHash"] != claim.SecretHash || (string?)json["status"]?["phase"] == LocalWorkloadPhase.Disconnected)
                {
                    return;
                }

                try
                {
                    var status = new JsonObject { ["phase"] = LocalWorkloadPhase.Disconnected, ["tunnel"] = new JsonObject { ["connectedAt"] = null } };
                    await PatchStatusAsync(claim, status, required: false, cancellationToken, (string?)json["metadata"]?["resourceVersion"]).ConfigureAwait(false);
                    return;
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < ConflictAttempts)
                {
                    // Written meanwhile (a heartbeat, the leader's phase): judge the newer version.
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<bool> HeartbeatAsync(WorkloadClaim claim, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var written = await PatchStatusAsync(claim, new JsonObject { ["tunnel"] = new JsonObject { ["lastHeartbeat"] = at.ToString("o", CultureInfo.InvariantCulture) } }, required: false, cancellationToken).ConfigureAwait(false);

        // Deleted (null) ends the stream too: the agent's Ctrl+C deletes it, and nothing routes to a deleted workload.
        var holder = (string?)written?["status"]?["tunnel"]?["replica"];
        return written is not null && (string?)written["spec"]?["secretHash"] == claim.SecretHash && (holder is null || holder == replica);
    }

    /// <inheritdoc />
    public async Task ReleasedAsync(WorkloadClaim claim, bool goodbye, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);

        _connected.TryRemove(KeyValuePair.Create(claim.Key, claim));

        // Only the tunnel this replica holds: the agent may have reconnected through another replica meanwhile.
        var json = await GetAsync(claim.Namespace, claim.Name, cancellationToken).ConfigureAwait(false);
        if (json?["status"]?["tunnel"] is not JsonObject tunnel || (string?)tunnel["address"] is null || (string?)tunnel["replica"] != replica)
        {
            return;
        }

        await PatchStatusAsync(claim, new JsonObject
        {
            ["phase"] = LocalWorkloadPhase.Disconnected,
            ["tunnel"] = new JsonObject { ["address"] = null, ["ports"] = null },
        }, required: false, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IPEndPoint> ResolveOutboundAsync(WorkloadClaim claim, string service, int port, CancellationToken cancellationToken) =>
        Task.FromResult(outbound.Resolve(claim, service, port));

    private SemaphoreSlim Gate(string key) => _gates[(int)((uint)StringComparer.Ordinal.GetHashCode(key) % (uint)_gates.Length)];

    private async Task<JsonObject?> GetAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            var element = await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, name, cancellationToken).ConfigureAwait(false);
            return JsonNode.Parse(element.GetRawText())?.AsObject();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            throw Forbidden(e, "get", $"{Plural}.{CustomResourceDefinitions.Group}", ns, $"{ns}/{name}");
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"cannot read LocalWorkload {ns}/{name} from the API server: {e.Message}"));
        }
    }

    /// <summary>The refusal of an agent because the API server refused the control plane's own <paramref name="verb"/> of <paramref name="resource"/> (logged once, as a warning: only an admin can fix it).</summary>
    private RpcException Forbidden(HttpOperationException e, string verb, string resource, string ns, string workload)
    {
        var code = (int)e.Response.StatusCode;
        var said = JsonNode.Parse(e.Response.Content ?? "") is JsonObject { } status && (string?)status["message"] is { } message ? message : e.Response.ReasonPhrase ?? "";
        LocalWorkloadsLog.ControlPlaneForbidden(logger, verb, resource, ns, code, workload, said);
        return new RpcException(new Status(StatusCode.FailedPrecondition,
            $"the control plane may not {verb} {resource} in namespace {ns} ({code} {e.Response.StatusCode}): its ServiceAccount lacks the chart's RBAC; ask the cluster's admin to grant it (charts/xds-control-plane/templates/rbac.yaml)"));
    }

    /// <summary>Merges <paramref name="status"/> into the workload's status; returns the object as written, or null when it is gone (or, when not <paramref name="required"/>, the write failed).</summary>
    private async Task<JsonObject?> PatchStatusAsync(WorkloadClaim claim, JsonObject status, bool required, CancellationToken cancellationToken, string? resourceVersion = null)
    {
        try
        {
            var body = new JsonObject { ["status"] = status };
            if (resourceVersion is not null)
            {
                // Conditional: the API server answers 409 when the object changed since it was read.
                body["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion };
            }

            var written = await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync<JsonElement>(
                new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch), CustomResourceDefinitions.Group, CustomResourceDefinitions.Version,
                claim.Namespace, Plural, claim.Name, fieldManager: FieldManagers.ControlPlane + "-broker", cancellationToken: cancellationToken).ConfigureAwait(false);
            return JsonNode.Parse(written.GetRawText())?.AsObject();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized && required)
        {
            throw Forbidden(e, "patch", $"{Plural}.{CustomResourceDefinitions.Group}/status", claim.Namespace, claim.Key);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && required)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"LocalWorkload {claim.Key} was deleted"));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Deleted (the agent's Ctrl+C): nothing to write.
            return null;
        }
        catch (Exception e) when (required && e is HttpOperationException or HttpRequestException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"cannot write the status of LocalWorkload {claim.Key}: {e.Message}"));
        }
    }
}
