namespace XdsControlPlane.Model;

/// <summary>One file's contents as read: its path and what <see cref="ManifestReader"/> found.</summary>
/// <param name="Path">The file path (also used to order files).</param>
/// <param name="Contents">What was read from it.</param>
public sealed record ManifestFile(string Path, ManifestReadResult Contents);

/// <summary>The objects in force after <see cref="LastGoodManifestSet.Apply"/>, and every problem found.</summary>
/// <param name="Inputs">The objects translation should use.</param>
/// <param name="Problems">Every problem, each naming file, document, object and field where known.</param>
/// <param name="KeptLastGood">Objects whose current version is broken and whose previous good version stays in force.</param>
public sealed record ManifestSetResult(RoutingInputs Inputs, IReadOnlyList<ManifestProblem> Problems, IReadOnlyList<ResourceKey> KeptLastGood)
{
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

/// <summary>
/// Turns the files of a manifest directory into the objects in force, keeping the last good version of every
/// object whose current version does not parse or validate: a broken edit is reported and changes nothing, and
/// objects in other files are never disturbed. An object that disappears from every file is removed. The first
/// definition of a duplicated object wins (files in ordinal path order).
/// </summary>
public sealed class LastGoodManifestSet
{
    private Dictionary<ResourceKey, ManifestObject> _lastGood = [];
    private Dictionary<string, ResourceKey[]> _keysByFile = new(StringComparer.Ordinal);

    /// <summary>Applies the current contents of every file.</summary>
    public ManifestSetResult Apply(IEnumerable<ManifestFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var problems = new List<ManifestProblem>();
        var candidates = new Dictionary<ResourceKey, ManifestObject>();
        var broken = new HashSet<ResourceKey>();
        var keysByFile = new Dictionary<string, ResourceKey[]>(StringComparer.Ordinal);
        foreach (var file in files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            problems.AddRange(file.Contents.Problems);
            var unreadable = file.Contents.Objects.Count == 0 && file.Contents.Problems.Any(p => p.Resource is null);
            if (unreadable && _keysByFile.TryGetValue(file.Path, out var previousKeys))
            {
                // The whole file failed (YAML syntax): everything it defined keeps its last good version.
                broken.UnionWith(previousKeys);
                keysByFile[file.Path] = previousKeys;
                continue;
            }

            broken.UnionWith(file.Contents.Problems.Where(p => p.Resource is not null).Select(p => p.Resource!));
            foreach (var obj in file.Contents.Objects)
            {
                var key = obj.Resource.Key;
                if (!candidates.TryAdd(key, obj))
                {
                    problems.Add(new ManifestProblem(key, "metadata.name", $"defined again; the definition in {candidates[key].Location} is used", obj.Location));
                }
            }

            keysByFile[file.Path] = [.. file.Contents.Objects.Select(o => o.Resource.Key), .. file.Contents.Problems.Where(p => p.Resource is not null).Select(p => p.Resource!)];
        }

        // References resolve against what will be in force: the candidates and, for objects whose current text is
        // broken, their last good version (a typo in a Service's file must not reject the RouteGroups that use it).
        var candidateInputs = new RoutingInputs(candidates.Values.Concat(broken.Select(_lastGood.GetValueOrDefault).OfType<ManifestObject>()).Select(o => o.Resource));
        var kept = new List<ResourceKey>();
        var refused = new HashSet<ResourceKey>();
        var inForce = new Dictionary<ResourceKey, ManifestObject>();
        foreach (var (key, candidate) in candidates)
        {
            IReadOnlyList<ManifestProblem> invalid;
            try
            {
                invalid = ManifestValidator.Validate(candidate.Resource, candidateInputs);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A validator bug makes this one object invalid, never the whole set.
                invalid = [new ManifestProblem(key, "", $"cannot be validated: {e.GetType().Name}: {e.Message}")];
            }

            if (invalid.Count == 0)
            {
                inForce[key] = candidate;
                continue;
            }

            problems.AddRange(invalid.Select(p => p with { Location = candidate.Location }));
            if (invalid.Any(p => p.Kind == ProblemKind.NotPermitted))
            {
                // Not a broken edit but a refused permission (or a revoked one): nothing of it stays in force.
                broken.Remove(key);
                refused.Add(key);
                continue;
            }

            broken.Add(key);
        }

        foreach (var key in broken.Where(k => !inForce.ContainsKey(k) && !refused.Contains(k)))
        {
            if (_lastGood.TryGetValue(key, out var good))
            {
                // A last good version is kept for a broken edit, never past a permission it no longer has: a grant
                // withdrawn while the object's text is broken takes effect all the same.
                if (Refusals(good, candidateInputs) is { Count: > 0 } refusals)
                {
                    problems.AddRange(refusals.Select(p => p with { Location = good.Location }));
                    continue;
                }

                inForce[key] = good;
                kept.Add(key);
            }
        }

        _lastGood = inForce;
        _keysByFile = keysByFile;
        kept.Sort(ResourceKey.Order);
        return new ManifestSetResult(new RoutingInputs(inForce.Values.Select(o => o.Resource)), problems, kept);
    }

    /// <summary>The permission problems of <paramref name="obj"/> against <paramref name="inputs"/> (none when validation fails otherwise).</summary>
    private static IReadOnlyList<ManifestProblem> Refusals(ManifestObject obj, RoutingInputs inputs)
    {
        try
        {
            return [.. ManifestValidator.Validate(obj.Resource, inputs).Where(p => p.Kind == ProblemKind.NotPermitted)];
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return [new ManifestProblem(obj.Resource.Key, "", $"cannot be validated: {e.GetType().Name}: {e.Message}") { Kind = ProblemKind.NotPermitted }];
        }
    }
}
