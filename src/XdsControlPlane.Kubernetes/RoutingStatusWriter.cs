using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>What a publication put in force and the problems it found, by object: what status is judged against.</summary>
/// <param name="InForce">The objects in force by key (an immutable view).</param>
/// <param name="Problems">Every problem of each object (validation and translation).</param>
internal sealed record StatusBasis(IReadOnlyDictionary<ResourceKey, ManifestObject> InForce, IReadOnlyDictionary<ResourceKey, ManifestProblem[]> Problems)
{
    /// <summary>Groups <paramref name="problems"/> by the object they name (problems naming none are left out).</summary>
    public static Dictionary<ResourceKey, ManifestProblem[]> ByObject(IEnumerable<ManifestProblem> problems) =>
        problems.Where(p => p.Resource is not null).GroupBy(p => p.Resource!).ToDictionary(g => g.Key, g => g.ToArray());

    /// <summary>The objects whose problems differ between <paramref name="before"/> and this basis.</summary>
    public IEnumerable<ResourceKey> ProblemsChangedSince(StatusBasis? before)
    {
        var old = before?.Problems ?? new Dictionary<ResourceKey, ManifestProblem[]>();
        foreach (var (key, problems) in Problems)
        {
            if (!old.TryGetValue(key, out var previous) || !previous.AsSpan().SequenceEqual(problems))
            {
                yield return key;
            }
        }

        foreach (var key in old.Keys.Where(k => !Problems.ContainsKey(k)))
        {
            yield return key;
        }
    }
}

/// <summary>
/// Writes the routing conditions (<see cref="RoutingConditions"/>) of RouteGroups, Sandboxes and LocalWorkloads
/// through the status subresource, with a JSON merge patch of <c>conditions</c> (and a RouteGroup's
/// <c>observedGeneration</c>), only when they differ from what the object already says, so replicas and repeated
/// publications do not write in a loop. Conditions of other types (a Sandbox's <c>Ready</c>) are carried over.
/// The caller names the objects to judge (those that changed) and runs one pass at a time, so no object has two
/// writes in flight; the writer remembers which objects wait for data planes to ACK (<see cref="Pending"/>).
/// </summary>
internal sealed class RoutingStatusWriter(IKubernetes client, TimeProvider clock, ILogger logger, string fieldManager)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly HashSet<ResourceKey> _pending = [];
    private volatile int _pendingCount;

    /// <summary>Objects whose last judged status is <c>Programmed=False, Pending</c>, or whose write met a conflict (worth re-checking as ACKs arrive).</summary>
    public bool AnyPending => _pendingCount > 0;

    /// <summary>The objects <see cref="AnyPending"/> counts (a copy); only between passes.</summary>
    public IReadOnlyList<ResourceKey> Pending => [.. _pending];

    /// <summary>How many objects all passes judged so far (for tests and measurements).</summary>
    public long Judged { get; private set; }

    /// <summary>Forgets an object that is gone.</summary>
    public void Forget(ResourceKey key)
    {
        _pending.Remove(key);
        _pendingCount = _pending.Count;
    }

    /// <summary>Brings the status of each of <paramref name="current"/> up to date against <paramref name="basis"/>; returns how many were written.</summary>
    public async Task<int> WriteAsync(IEnumerable<IManifestObject> current, StatusBasis basis, bool acked, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(basis);
        var written = 0;
        try
        {
            foreach (var obj in current)
            {
                if (await WriteAsync(obj, basis, acked, cancellationToken).ConfigureAwait(false))
                {
                    written++;
                }
            }
        }
        finally
        {
            _pendingCount = _pending.Count;
        }

        return written;
    }

    private async Task<bool> WriteAsync(IManifestObject obj, StatusBasis basis, bool acked, CancellationToken cancellationToken)
    {
        Judged++;
        var (previous, observed, plural) = obj switch
        {
            RouteGroup g => (g.Status?.Conditions ?? [], g.Status?.ObservedGeneration, "routegroups"),
            Sandbox s => (s.Status?.Conditions ?? [], null, "sandboxes"),
            LocalWorkload w => (w.Status?.Conditions ?? [], null, "localworkloads"),
            _ => throw new ArgumentException($"{obj.Key.Kind} has no routing status", nameof(obj)),
        };

        // In force: the very version translated, or one that says the same to translation (a status-only update).
        var inForceNow = basis.InForce.TryGetValue(obj.Key, out var used) && RoutingFields.Equal(used.Resource, obj);
        var desired = RoutingConditions.Compute(obj, previous, basis.Problems.GetValueOrDefault(obj.Key) ?? [], inForceNow, acked, clock.GetUtcNow());
        if (desired.Any(c => c is { Type: "Programmed", Reason: "Pending" }))
        {
            _pending.Add(obj.Key);
        }
        else
        {
            _pending.Remove(obj.Key);
        }

        var generationCurrent = obj is not RouteGroup || observed == obj.Metadata.Generation;
        if (generationCurrent && RoutingConditions.SameAs(previous, desired))
        {
            return false;
        }

        // The resource version makes the patch conditional: written from a stale view, it would replace conditions another
        // writer has added since (the Sandbox controller's Ready); the API server answers 409 instead, and the newer
        // version's watch event brings this writer back with a fresh view.
        object status = obj is RouteGroup ? new { observedGeneration = obj.Metadata.Generation, conditions = desired } : new { conditions = desired };
        var metadata = new { resourceVersion = obj.Metadata.ResourceVersion };
        var patch = new V1Patch(JsonSerializer.Serialize(new { metadata, status }, Json), V1Patch.PatchType.MergePatch);
        try
        {
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                patch, CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, obj.Metadata.Namespace, plural, obj.Metadata.Name,
                fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Deleted meanwhile: nothing to report on.
            _pending.Remove(obj.Key);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Changed meanwhile: its watch event brings a check of the new version; until then it is re-checked as pending.
            _pending.Add(obj.Key);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            KubernetesLog.StatusWriteFailed(logger, obj.Key.ToString(), e.Message);
        }

        return false;
    }
}
