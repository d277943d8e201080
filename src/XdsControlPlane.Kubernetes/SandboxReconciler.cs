using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Brings one Sandbox's forks in line with its spec: finalizer first, TTL expiry, the generated routing key, fork
/// Deployments and Services created, replaced when they drifted and deleted when no longer wanted, status from their
/// readiness, and Events for each of those actions. Level-triggered: it reads the current state every time, so running
/// it twice in a row does nothing the second time.
/// </summary>
internal sealed class SandboxReconciler(IKubernetes client, KubernetesEventRecorder events, TimeProvider clock, ILogger logger, string fieldManager)
{
    private const string Plural = "sandboxes";
    private static readonly JsonSerializerOptions StatusJson = new(JsonSerializerDefaults.Web);

    /// <summary>The preview domain of the URLs in <c>status.previews</c> (empty: previews are off).</summary>
    public string PreviewDomain { get; init; } = "";

    /// <summary>The salt of the preview host names.</summary>
    public string PreviewSalt { get; init; } = "";

    /// <summary>Reconciles the Sandbox <paramref name="ns"/>/<paramref name="name"/>; returns when to look again (TTL), if ever.</summary>
    public async Task<TimeSpan?> ReconcileAsync(string ns, string name, CancellationToken cancellationToken)
    {
        if (await GetSandboxAsync(ns, name, cancellationToken).ConfigureAwait(false) is not { } raw)
        {
            return null;   // gone: the garbage collector removes what it owned
        }

        var metadata = raw["metadata"]!.AsObject();
        var uid = (string?)metadata["uid"] ?? "";
        var finalizers = metadata["finalizers"]?.AsArray().Select(f => (string?)f).OfType<string>().ToList() ?? [];
        var read = ManifestReader.Read(raw, $"kubernetes Sandbox {ns}/{name}");
        var sandbox = read.Objects is [{ Resource: Sandbox parsed }] ? parsed : Unreadable(ns, name, metadata, raw["status"]);
        var reference = new V1ObjectReference { ApiVersion = ApiVersions.Sandboxctl, Kind = Sandbox.KindName, Name = name, NamespaceProperty = ns, Uid = uid };

        if (metadata["deletionTimestamp"] is not null)
        {
            if (finalizers.Contains(SandboxLabels.Finalizer))
            {
                await DeleteForksAsync(ns, name, uid, keep: [], keepWorkloads: [], reference, cancellationToken).ConfigureAwait(false);
                await SetFinalizersAsync(ns, name, metadata, [.. finalizers.Where(f => f != SandboxLabels.Finalizer)], cancellationToken).ConfigureAwait(false);
                var resource = $"{ns}/{name}";
                KubernetesLog.SandboxFinalized(logger, resource);
            }

            return null;
        }

        var resourceVersion = (string?)metadata["resourceVersion"];
        if (!finalizers.Contains(SandboxLabels.Finalizer))
        {
            resourceVersion = await SetFinalizersAsync(ns, name, metadata, [.. finalizers, SandboxLabels.Finalizer], cancellationToken).ConfigureAwait(false) ?? resourceVersion;
        }

        var problems = read.Problems.Concat(ManifestValidator.Validate(sandbox, new RoutingInputs([])).Where(p => p.Kind == ProblemKind.Invalid)).ToList();
        TimeSpan? recheck = null;
        if (problems.Count == 0 && Lifetime(sandbox, metadata) is { } expires)
        {
            var left = expires - clock.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                await events.RecordAsync(reference, "Normal", "Expired", $"spec.ttl {sandbox.Spec.Ttl} ran out; deleting the sandbox", cancellationToken).ConfigureAwait(false);
                await IgnoreNotFoundAsync(() => client.CustomObjects.DeleteNamespacedCustomObjectAsync<JsonElement>(CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, name, cancellationToken: cancellationToken)).ConfigureAwait(false);
                var resource = $"{ns}/{name}";
                KubernetesLog.SandboxExpired(logger, resource, sandbox.Spec.Ttl!);
                return null;
            }

            recheck = left;
        }

        var forks = new List<(PlannedFork, V1Deployment?)>();
        if (problems.Count == 0)
        {
            var plans = await PlanAsync(sandbox, uid, cancellationToken).ConfigureAwait(false);
            foreach (var plan in plans)
            {
                forks.Add(await ApplyAsync(plan, uid, reference, cancellationToken).ConfigureAwait(false));
            }

            // Forks whose baseline is gone are kept as they are (they still run; the Sandbox reports the problem).
            var keep = plans.Where(p => p.Problem is null).SelectMany(p => p.Services.Select(s => s.Metadata.Name).Append(p.Deployment!.Metadata.Name)).ToHashSet(StringComparer.Ordinal);
            var orphaned = plans.Where(p => p.Deployment is null).Select(p => p.Baseline).ToHashSet(StringComparer.Ordinal);
            await DeleteForksAsync(ns, name, uid, keep, orphaned, reference, cancellationToken).ConfigureAwait(false);
        }

        var routingKey = sandbox.Spec.RoutingKey ?? sandbox.Status?.RoutingKey ?? GenerateKey(name);
        var status = SandboxStatusBuilder.Build(sandbox, routingKey, problems, forks, clock.GetUtcNow(), PreviewDomain, PreviewSalt);
        if (!SandboxStatusBuilder.SameAs(sandbox.Status, status))
        {
            try
            {
                await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                    new V1Patch(SandboxStatusBuilder.PatchBody(status, resourceVersion), V1Patch.PatchType.MergePatch), CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, name,
                    fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Someone else wrote meanwhile (the routing status writer): the change's watch event queues this Sandbox again.
                return recheck;
            }

            if (sandbox.Status?.Phase != status.Phase)
            {
                var ready = status.Conditions.Single(c => c.Type == "Ready");
                await events.RecordAsync(reference, status.Phase == SandboxPhase.Failed ? "Warning" : "Normal", status.Phase!, ready.Message ?? "", cancellationToken).ConfigureAwait(false);
                var resource = $"{ns}/{name}";
                KubernetesLog.SandboxPhase(logger, resource, status.Phase!, ready.Message ?? "");
            }
        }

        return recheck;
    }

    /// <summary>The fork plans: baseline Deployments by name and the namespace's Services, read fresh.</summary>
    private async Task<IReadOnlyList<PlannedFork>> PlanAsync(Sandbox sandbox, string uid, CancellationToken cancellationToken)
    {
        var ns = sandbox.Metadata.Namespace;
        var baselines = new Dictionary<string, V1Deployment?>(StringComparer.Ordinal);
        foreach (var fork in sandbox.Spec.Forks)
        {
            baselines[fork.Of.Name] = await IgnoreNotFoundAsync(() => client.AppsV1.ReadNamespacedDeploymentAsync(fork.Of.Name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        var services = await client.CoreV1.ListNamespacedServiceAsync(ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        return ForkPlanner.Plan(sandbox, uid, baselines, [.. services.Items]);
    }

    /// <summary>Creates or updates one fork's Deployment and Services; never takes over objects the Sandbox does not own.</summary>
    private async Task<(PlannedFork, V1Deployment?)> ApplyAsync(PlannedFork plan, string uid, V1ObjectReference sandbox, CancellationToken cancellationToken)
    {
        if (plan.Deployment is not { } desired)
        {
            return (plan, null);
        }

        var ns = desired.Metadata.NamespaceProperty;
        var current = await IgnoreNotFoundAsync(() => client.AppsV1.ReadNamespacedDeploymentAsync(desired.Metadata.Name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (current is not null && !OwnedBy(current.Metadata, uid))
        {
            return (plan with { Problem = $"Deployment {ns}/{desired.Metadata.Name} already exists and does not belong to this sandbox" }, null);
        }

        V1Deployment observed;
        if (current is null)
        {
            observed = await client.AppsV1.CreateNamespacedDeploymentAsync(desired, ns, fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(sandbox, "Normal", "ForkCreated", $"created Deployment {desired.Metadata.Name} from {plan.Baseline}", cancellationToken).ConfigureAwait(false);
        }
        else if (HashOf(current.Metadata) != HashOf(desired.Metadata))
        {
            desired.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            observed = await client.AppsV1.ReplaceNamespacedDeploymentAsync(desired, desired.Metadata.Name, ns, fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
            await events.RecordAsync(sandbox, "Normal", "ForkUpdated", $"updated Deployment {desired.Metadata.Name} from {plan.Baseline}", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            observed = current;
        }

        foreach (var service in plan.Services)
        {
            var existing = await IgnoreNotFoundAsync(() => client.CoreV1.ReadNamespacedServiceAsync(service.Metadata.Name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (existing is not null && !OwnedBy(existing.Metadata, uid))
            {
                return (plan with { Problem = $"Service {ns}/{service.Metadata.Name} already exists and does not belong to this sandbox" }, observed);
            }

            if (existing is null)
            {
                await client.CoreV1.CreateNamespacedServiceAsync(service, ns, fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
                await events.RecordAsync(sandbox, "Normal", "ForkCreated", $"created Service {service.Metadata.Name} for {service.Metadata.Labels[SandboxLabels.ForkOf]}", cancellationToken).ConfigureAwait(false);
            }
            else if (HashOf(existing.Metadata) != HashOf(service.Metadata))
            {
                // A merge patch keeps what the API server assigned (clusterIP), which a replace would have to carry over.
                var patch = new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["labels"] = JsonNode.Parse(KubernetesJson.Serialize(service.Metadata.Labels)),
                        ["annotations"] = JsonNode.Parse(KubernetesJson.Serialize(service.Metadata.Annotations)),
                    },
                    ["spec"] = new JsonObject
                    {
                        ["selector"] = JsonNode.Parse(KubernetesJson.Serialize(service.Spec.Selector)),
                        ["ports"] = JsonNode.Parse(KubernetesJson.Serialize(service.Spec.Ports)),
                    },
                };
                await client.CoreV1.PatchNamespacedServiceAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), service.Metadata.Name, ns, fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
                await events.RecordAsync(sandbox, "Normal", "ForkUpdated", $"updated Service {service.Metadata.Name}", cancellationToken).ConfigureAwait(false);
            }
        }

        return (plan, observed);
    }

    /// <summary>Deletes the Sandbox's fork Deployments and Services except those named in <paramref name="keep"/> or forking a workload in <paramref name="keepWorkloads"/>.</summary>
    private async Task DeleteForksAsync(string ns, string name, string uid, HashSet<string> keep, HashSet<string> keepWorkloads, V1ObjectReference sandbox, CancellationToken cancellationToken)
    {
        var selector = $"{SandboxLabels.Sandbox}={name}";
        var deployments = await client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var deployment in deployments.Items.Where(d => OwnedBy(d.Metadata, uid) && !keep.Contains(d.Metadata.Name) && !keepWorkloads.Contains(WorkloadOf(d.Metadata.Labels))))
        {
            await IgnoreNotFoundAsync(() => client.AppsV1.DeleteNamespacedDeploymentAsync(deployment.Metadata.Name, ns, propagationPolicy: "Background", cancellationToken: cancellationToken)).ConfigureAwait(false);
            await events.RecordAsync(sandbox, "Normal", "ForkDeleted", $"deleted Deployment {deployment.Metadata.Name}", cancellationToken).ConfigureAwait(false);
        }

        var services = await client.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var service in services.Items.Where(s => OwnedBy(s.Metadata, uid) && !keep.Contains(s.Metadata.Name) && !keepWorkloads.Contains(WorkloadOf(s.Spec?.Selector))))
        {
            await IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedServiceAsync(service.Metadata.Name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await events.RecordAsync(sandbox, "Normal", "ForkDeleted", $"deleted Service {service.Metadata.Name}", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sets the finalizer list with a merge patch guarded by the resource version (a concurrent edit makes it fail and
    /// retry); returns the object's new resource version.
    /// </summary>
    private async Task<string?> SetFinalizersAsync(string ns, string name, JsonObject metadata, List<string> finalizers, CancellationToken cancellationToken)
    {
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["finalizers"] = new JsonArray([.. finalizers.Select(f => (JsonNode)f)]),
                ["resourceVersion"] = (string?)metadata["resourceVersion"],
            },
        };
        var patched = await IgnoreNotFoundAsync<JsonElement?>(async () => await client.CustomObjects.PatchNamespacedCustomObjectAsync<JsonElement>(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, name,
            fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        return patched is { } found && found.TryGetProperty("metadata", out var meta) && meta.TryGetProperty("resourceVersion", out var version) ? version.GetString() : null;
    }

    private async Task<JsonObject?> GetSandboxAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var element = await IgnoreNotFoundAsync<JsonElement?>(async () => await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(
            CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, name, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        return element is { } found ? JsonNode.Parse(found.GetRawText())!.AsObject() : null;
    }

    /// <summary>When the Sandbox expires: its creation time plus <c>spec.ttl</c>.</summary>
    private static DateTimeOffset? Lifetime(Sandbox sandbox, JsonObject metadata) =>
        sandbox.Spec.Ttl is { } ttl && GoDuration.TryParse(ttl, out var lifetime)
            && DateTimeOffset.TryParse((string?)metadata["creationTimestamp"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created)
            ? created + lifetime
            : null;

    /// <summary>
    /// A Sandbox whose JSON does not read as the model: enough of it to report why — including its current status, or
    /// every reconcile would see a change and write (and so queue itself) again.
    /// </summary>
    private static Sandbox Unreadable(string ns, string name, JsonObject metadata, JsonNode? status)
    {
        SandboxStatus? current = null;
        try
        {
            current = status?.Deserialize<SandboxStatus>(StatusJson);
        }
        catch (JsonException)
        {
        }

        return new Sandbox
        {
            Metadata = new ObjectMeta { Namespace = ns, Name = name, Generation = (long?)metadata["generation"] ?? 0 },
            Status = current,
        };
    }

    /// <summary>A routing key for a Sandbox that names none: its name and six random characters.</summary>
    private static string GenerateKey(string name)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        var suffix = string.Create(6, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(Alphabet.Length)];
            }
        });
        return $"{name[..Math.Min(name.Length, 56)].TrimEnd('-')}-{suffix}";
    }

    /// <summary>The baseline workload a fork object belongs to, from its labels (Deployments) or selector (Services).</summary>
    private static string WorkloadOf(IDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue(SandboxLabels.ForkOfWorkload, out var workload) ? workload : "";

    private static bool OwnedBy(V1ObjectMeta metadata, string uid) => metadata.OwnerReferences?.Any(o => o.Uid == uid) == true;

    private static string? HashOf(V1ObjectMeta metadata) => (metadata.Annotations is { } annotations && annotations.TryGetValue(ForkPlanner.HashAnnotation, out var hash) ? hash : null);

    private static async Task<T?> IgnoreNotFoundAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return default;
        }
    }
}
