using System.Collections.Concurrent;
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

/// <summary>A status write judged necessary: the object, where it is written, and the merge patch.</summary>
/// <param name="Key">The object.</param>
/// <param name="Plural">Its resource name (<c>routegroups</c> …).</param>
/// <param name="Patch">The JSON merge patch of its status, conditional on the version judged.</param>
internal sealed record StatusWrite(ResourceKey Key, string Plural, string Patch);

/// <summary>How a status write ended (the <c>result</c> label of <c>sandboxctl_status_writes_total</c>).</summary>
internal enum StatusWriteResult
{
    /// <summary>The API server took it.</summary>
    Written,

    /// <summary>The object changed meanwhile (409): its watch event brings it back with a fresh view.</summary>
    Conflict,

    /// <summary>The object is gone (404).</summary>
    Gone,

    /// <summary>The API server or the network failed (logged).</summary>
    Failed,
}

/// <summary>
/// Judges and writes the routing conditions (<see cref="RoutingConditions"/>) of RouteGroups, Sandboxes and
/// LocalWorkloads through the status subresource, with a JSON merge patch of <c>conditions</c> (and a RouteGroup's
/// <c>observedGeneration</c>), only when they differ from what the object already says (as the informer last saw it),
/// so replicas, repeated publications and the watch events of our own writes do not write in a loop. Conditions of
/// other types (a Sandbox's <c>Ready</c>) are carried over. The caller never has two writes of one object in flight
/// (<see cref="WorkQueue{TKey}"/>); the writer remembers which objects wait for data planes to ACK
/// (<see cref="Pending"/>) and the version each of its writes produced (<see cref="IsOwnWrite"/>). Thread-safe.
/// </summary>
internal sealed class RoutingStatusWriter(IKubernetes client, TimeProvider clock, string fieldManager)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly Lock _gate = new();
    private readonly HashSet<ResourceKey> _pending = [];
    private readonly ConcurrentDictionary<ResourceKey, string> _written = new();
    private volatile int _pendingCount;
    private long _judged;

    /// <summary>The preview domain of the URLs in a LocalWorkload's <c>status.previews</c> (empty: previews are off).</summary>
    public string PreviewDomain { get; init; } = "";

    /// <summary>The salt of the preview host names.</summary>
    public string PreviewSalt { get; init; } = "";

    /// <summary>Objects whose last judged status is <c>Programmed=False, Pending</c>, or whose write met a conflict (worth re-checking as ACKs arrive).</summary>
    public bool AnyPending => _pendingCount > 0;

    /// <summary>The objects <see cref="AnyPending"/> counts (a copy).</summary>
    public IReadOnlyList<ResourceKey> Pending
    {
        get
        {
            lock (_gate)
            {
                return [.. _pending];
            }
        }
    }

    /// <summary>How many times objects were judged so far (for tests and measurements).</summary>
    public long Judged => Interlocked.Read(ref _judged);

    /// <summary>Forgets an object that is gone.</summary>
    public void Forget(ResourceKey key)
    {
        _written.TryRemove(key, out _);
        SetPending(key, false);
    }

    /// <summary>
    /// Whether <paramref name="version"/> of <paramref name="key"/> is the one our last status write produced: its watch
    /// event brings nothing to judge (a comparison of two strings). Forgotten once seen.
    /// </summary>
    public bool IsOwnWrite(ResourceKey key, string? version) =>
        version is not null && _written.TryRemove(new KeyValuePair<ResourceKey, string>(key, version));

    /// <summary>
    /// The write that brings <paramref name="obj"/>'s status up to date against <paramref name="basis"/>, or null when
    /// the object already says it.
    /// </summary>
    public StatusWrite? Judge(IManifestObject obj, StatusBasis basis, bool acked)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(basis);
        Interlocked.Increment(ref _judged);
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
        SetPending(obj.Key, desired.Any(c => c is { Type: "Programmed", Reason: "Pending" }));
        var generationCurrent = obj is not RouteGroup || observed == obj.Metadata.Generation;
        PreviewStatus[]? previews = null;
        if (obj is LocalWorkload workload)
        {
            // A LocalWorkload's preview URLs are written here (the broker writes its tunnel, not what it is served as).
            var invalid = (basis.Problems.GetValueOrDefault(obj.Key) ?? []).Any(p => p.Kind == ProblemKind.Invalid);
            previews = invalid ? [] : [.. PreviewSite.Of(workload, PreviewDomain, PreviewSalt).Select(p => p.Status)];
        }

        var previewsCurrent = previews is null || (((LocalWorkload)obj).Status?.Previews ?? []).SequenceEqual(previews);
        if (generationCurrent && previewsCurrent && RoutingConditions.SameAs(previous, desired))
        {
            return null;
        }

        // The resource version makes the patch conditional: written from a stale view, it would replace conditions another
        // writer has added since (the Sandbox controller's Ready); the API server answers 409 instead, and the newer
        // version's watch event brings this writer back with a fresh view.
        object status = obj is RouteGroup ? new { observedGeneration = obj.Metadata.Generation, conditions = desired }
            : previews is not null ? new { conditions = desired, previews }
            : new { conditions = desired };
        var metadata = new { resourceVersion = obj.Metadata.ResourceVersion };
        return new StatusWrite(obj.Key, plural, JsonSerializer.Serialize(new { metadata, status }, Json));
    }

    /// <summary>
    /// Sends <paramref name="write"/>; remembers the version it produced, so its watch event is known as ours. Any other
    /// failure of the API server or the network is thrown (<see cref="HttpOperationException"/>,
    /// <see cref="HttpRequestException"/>): the caller retries with backoff.
    /// </summary>
    public async Task<StatusWriteResult> SendAsync(StatusWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        try
        {
            var written = await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                new V1Patch(write.Patch, V1Patch.PatchType.MergePatch), CustomResourceDefinitions.Group, CustomResourceDefinitions.Version,
                write.Key.Namespace, write.Plural, write.Key.Name, fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (VersionOf(written) is { } version)
            {
                _written[write.Key] = version;
            }

            return StatusWriteResult.Written;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Deleted meanwhile: nothing to report on.
            Forget(write.Key);
            return StatusWriteResult.Gone;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Changed meanwhile: its watch event brings a check of the new version; until then it is re-checked as pending.
            SetPending(write.Key, true);
            return StatusWriteResult.Conflict;
        }
    }

    private static string? VersionOf(object? written) =>
        written is JsonElement { ValueKind: JsonValueKind.Object } element
        && element.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
        && metadata.TryGetProperty("resourceVersion", out var version) && version.ValueKind == JsonValueKind.String
            ? version.GetString()
            : null;

    private void SetPending(ResourceKey key, bool pending)
    {
        lock (_gate)
        {
            if (pending)
            {
                _pending.Add(key);
            }
            else
            {
                _pending.Remove(key);
            }

            _pendingCount = _pending.Count;
        }
    }
}
