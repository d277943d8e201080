namespace XdsControlPlane.Model;

/// <summary>One file's contents as read: its path and what <see cref="ManifestReader"/> found.</summary>
/// <param name="Path">The file path (also used to order files).</param>
/// <param name="Contents">What was read from it.</param>
public sealed record ManifestFile(string Path, ManifestReadResult Contents);

/// <summary>The objects in force after <see cref="LastGoodManifestSet.Apply(IEnumerable{ManifestFile})"/>, and every problem found.</summary>
/// <param name="Inputs">The objects translation should use.</param>
/// <param name="Problems">Every problem, each naming file, document, object and field where known.</param>
/// <param name="KeptLastGood">Objects whose current version is broken and whose previous good version stays in force.</param>
public sealed record ManifestSetResult(RoutingInputs Inputs, IReadOnlyList<ManifestProblem> Problems, IReadOnlyList<ResourceKey> KeptLastGood)
{
    /// <summary>
    /// False when no object in force changed since the previous apply: <see cref="Inputs"/> is then the very instance
    /// the previous apply returned, and there is nothing new to translate or publish.
    /// </summary>
    public bool InputsChanged { get; init; } = true;

    /// <summary>The objects in force by key (an immutable view: later applies do not change it).</summary>
    public IReadOnlyDictionary<ResourceKey, ManifestObject> InForce { get; init; } = new Dictionary<ResourceKey, ManifestObject>();

    /// <summary>The keys whose version in force, problems or kept-last-good state may have changed in this apply.</summary>
    public IReadOnlySet<ResourceKey> Changed { get; init; } = new HashSet<ResourceKey>();

    /// <summary>How many objects this apply validated (all of them only when what references resolve against changed: a Service, a LocalWorkload's spec, a Sandbox appearing or going); an object validated before against the same inputs — the same instance, read from an unchanged document or kept because it says the same — is not validated again.</summary>
    public int Validated { get; init; }

    /// <summary>
    /// Those of <paramref name="translationProblems"/> that <see cref="Problems"/> does not report already (the same
    /// object, field and reason): translating a last good version whose reference broke finds the reference problem
    /// validation reported, in the same words, and it is reported once, with its file.
    /// </summary>
    public IReadOnlyList<ManifestProblem> Unreported(IReadOnlyList<ManifestProblem> translationProblems)
    {
        ArgumentNullException.ThrowIfNull(translationProblems);
        if (translationProblems.Count == 0 || Problems.Count == 0)
        {
            return translationProblems;
        }

        var reported = Problems.Select(p => (p.Resource, p.FieldPath, p.Reason)).ToHashSet();
        return [.. translationProblems.Where(p => !reported.Contains((p.Resource, p.FieldPath, p.Reason)))];
    }
}
