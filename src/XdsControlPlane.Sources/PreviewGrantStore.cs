using System.Collections.Immutable;
using XdsControlPlane.Model;

namespace XdsControlPlane.Sources;

/// <summary>
/// The PreviewGrants in force, by namespace and name and by <see cref="PreviewGrantSpec.SecretHash"/>, for the preview
/// authorization service: kept apart from the <see cref="RoutingInputsStore"/> because translation reads no grant, so a
/// grant minted or revoked never translates or publishes anything. Fed by the cluster's informer (<c>--kubernetes</c>)
/// or by the manifest set (<c>--manifests</c>); only grants that pass validation enter. Readers see a consistent
/// snapshot without locks; writers are serialised. Thread-safe.
/// </summary>
public sealed class PreviewGrantStore
{
    private readonly Lock _gate = new();
    private volatile Snapshot _current = Snapshot.Empty;

    /// <summary>How many grants are in force.</summary>
    public int Count => _current.ByKey.Count;

    /// <summary>The grants whose token hashes to <paramref name="secretHash"/> (normally one; empty when none).</summary>
    public ImmutableArray<PreviewGrant> FindByHash(string secretHash) =>
        _current.ByHash.TryGetValue(secretHash, out var grants) ? grants : [];

    /// <summary>The grant <paramref name="ns"/>/<paramref name="name"/>, or null when there is none (deleted: revoked).</summary>
    public PreviewGrant? Find(string ns, string name) => _current.ByKey.GetValueOrDefault((ns, name));

    /// <summary>
    /// Puts <paramref name="grant"/> in force (replacing the one of its namespace and name), or, when it is not valid,
    /// takes out the one it replaces and returns its problems: a broken grant opens nothing.
    /// </summary>
    public IReadOnlyList<ManifestProblem> Put(PreviewGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var problems = ManifestValidator.Validate(grant, EmptyInputs);
        lock (_gate)
        {
            var snapshot = _current.Without(grant.Metadata.Namespace, grant.Metadata.Name);
            _current = problems.Count == 0 ? snapshot.With(grant) : snapshot;
        }

        return problems;
    }

    /// <summary>Takes the grant <paramref name="ns"/>/<paramref name="name"/> out of force (deleted: its tokens and cookies stop opening anything).</summary>
    public void Remove(string ns, string name)
    {
        lock (_gate)
        {
            _current = _current.Without(ns, name);
        }
    }

    /// <summary>Puts exactly <paramref name="grants"/> in force (already validated, as the manifest set's are).</summary>
    public void Replace(IEnumerable<PreviewGrant> grants)
    {
        ArgumentNullException.ThrowIfNull(grants);
        var snapshot = Snapshot.Empty;
        foreach (var grant in grants)
        {
            snapshot = snapshot.Without(grant.Metadata.Namespace, grant.Metadata.Name).With(grant);
        }

        lock (_gate)
        {
            _current = snapshot;
        }
    }

    private static readonly RoutingInputs EmptyInputs = new([]);

    private sealed record Snapshot(ImmutableDictionary<(string Namespace, string Name), PreviewGrant> ByKey, ImmutableDictionary<string, ImmutableArray<PreviewGrant>> ByHash)
    {
        public static readonly Snapshot Empty = new(ImmutableDictionary<(string, string), PreviewGrant>.Empty, ImmutableDictionary<string, ImmutableArray<PreviewGrant>>.Empty.WithComparers(StringComparer.Ordinal));

        public Snapshot With(PreviewGrant grant)
        {
            var hash = grant.Spec.SecretHash;
            var sameHash = ByHash.TryGetValue(hash, out var grants) ? grants : [];
            return new Snapshot(ByKey.SetItem((grant.Metadata.Namespace, grant.Metadata.Name), grant), ByHash.SetItem(hash, sameHash.Add(grant)));
        }

        public Snapshot Without(string ns, string name)
        {
            if (!ByKey.TryGetValue((ns, name), out var old))
            {
                return this;
            }

            var rest = ByHash[old.Spec.SecretHash].Remove(old);
            return new Snapshot(ByKey.Remove((ns, name)), rest.IsEmpty ? ByHash.Remove(old.Spec.SecretHash) : ByHash.SetItem(old.Spec.SecretHash, rest));
        }
    }
}
