using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Model;

/// <summary>
/// Turns the files of a manifest directory into the objects in force, keeping the last good version of every
/// object whose current version does not parse or validate: a broken edit is reported and changes nothing, and
/// objects in other files are never disturbed. An object that disappears from every file is removed. The first
/// definition of a duplicated object wins (files in ordinal path order).
/// </summary>
/// <remarks>
/// Incremental: each apply looks only at the files that changed (a file is unchanged when it is the same
/// <see cref="ManifestFile"/> instance as last time) and the objects they name. A new version whose
/// <see cref="RoutingFields"/> equal those of the version in force is not taken: the version in force keeps its
/// instance, so translation sees nothing new. Only the changed objects are validated, unless what validation resolves
/// references against changed — a Service, a LocalWorkload's spec, a Sandbox appearing or going — when every object is
/// validated again. Of the objects of a changed file, those that are the same instance as before (a document whose text
/// did not change: <see cref="ManifestDirectoryReader"/>) are not validated again while those inputs stay.
/// </remarks>
public sealed class LastGoodManifestSet
{
    /// <summary>Up to this many RouteGroups replaced are put into the last inputs one by one (each copies the RouteGroup list); more, and the inputs are collected anew.</summary>
    private const int PatchedRouteGroupsLimit = 16;

    private static readonly HashSet<string> ReferenceTargets = new([KubeService.KindName, Sandbox.KindName, LocalWorkload.KindName], StringComparer.Ordinal);
    private readonly ManifestFileIndex _files = new();
    private readonly Dictionary<ResourceKey, Definition> _definitions = [];
    private readonly Dictionary<ResourceKey, ManifestProblem[]> _keyProblems = [];
    private readonly HashSet<ResourceKey> _kept = [];

    // The last validation of each key: the object validated, the inputs it was validated against, the problems found.
    // Validation reads nothing else, so the same object against the same inputs is not validated again (an object read
    // from an unchanged document of an edited file, or kept in force because it says the same to translation).
    private readonly Dictionary<ResourceKey, (IManifestObject Resource, RoutingInputs Inputs, IReadOnlyList<ManifestProblem> Problems)> _validations = [];
    private ImmutableDictionary<ResourceKey, ManifestObject> _lastGood = ImmutableDictionary<ResourceKey, ManifestObject>.Empty;

    // The same objects, for enumerating (an immutable dictionary is a tree: several times slower to walk).
    private readonly Dictionary<ResourceKey, ManifestObject> _inForce = [];
    private RoutingInputs? _candidateInputs;
    private RoutingInputs _inputs = new([]);
    private bool _applied;

    /// <summary>Applies the current contents of every file: files not given any more are removed.</summary>
    public ManifestSetResult Apply(IEnumerable<ManifestFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var changed = new List<ManifestFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!seen.Add(file.Path))
            {
                continue;
            }

            if (!_files.Holds(file))
            {
                changed.Add(file);
            }
        }

        return Apply(changed, [.. _files.Paths.Where(path => !seen.Contains(path))]);
    }

    /// <summary>
    /// Applies the files in <paramref name="changed"/> (new or with new contents) and removes those in
    /// <paramref name="removed"/>; every other file stays as last applied.
    /// </summary>
    public ManifestSetResult Apply(IEnumerable<ManifestFile> changed, IEnumerable<string> removed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        ArgumentNullException.ThrowIfNull(removed);
        var affected = new HashSet<ResourceKey>();
        foreach (var path in removed)
        {
            _files.Remove(path, affected);
        }

        foreach (var file in changed)
        {
            _files.Put(file, affected);
        }

        // What each affected key is now defined as; a changed Service, Sandbox or LocalWorkload changes what references resolve to.
        var targetsChanged = !_applied;
        var readFiles = new Dictionary<string, FileKeys>(StringComparer.Ordinal);
        foreach (var key in affected)
        {
            var before = _definitions.GetValueOrDefault(key);
            var now = Define(key, readFiles);
            if (now is null)
            {
                _definitions.Remove(key);
            }
            else
            {
                _definitions[key] = now;
            }

            targetsChanged |= ReferenceTargets.Contains(key.Kind)
                && (!SameTarget(before?.Candidate?.Resource, now?.Candidate?.Resource) || before?.Broken != now?.Broken);
        }

        if (targetsChanged)
        {
            _candidateInputs = null;
        }

        IEnumerable<ResourceKey> validate = targetsChanged ? [.. _definitions.Keys.Union(affected).Union(_inForce.Keys)] : affected;
        var inForce = _lastGood.ToBuilder();
        var changedKeys = new HashSet<ResourceKey>(affected);
        var validated = 0;
        foreach (var key in validate)
        {
            var wasKept = _kept.Contains(key);
            var hadProblems = _keyProblems.GetValueOrDefault(key);
            inForce.TryGetValue(key, out var before);
            validated += Evaluate(key, _definitions.GetValueOrDefault(key), inForce) ? 1 : 0;
            inForce.TryGetValue(key, out var after);
            if (!ReferenceEquals(before, after) || wasKept != _kept.Contains(key) || !SameProblems(hadProblems, _keyProblems.GetValueOrDefault(key)))
            {
                changedKeys.Add(key);
            }
        }

        var previous = _lastGood;
        _lastGood = inForce.ToImmutable();
        var replaced = changedKeys.Where(k => !ReferenceEquals(previous.GetValueOrDefault(k)?.Resource, _lastGood.GetValueOrDefault(k)?.Resource)).ToList();
        // PreviewGrants are kept here (validated, last good) but translation reads none: a grant changing publishes nothing.
        var inputsChanged = !_applied || replaced.Exists(k => k.Kind != PreviewGrant.KindName);
        // What references resolve against holds a last good version only for a target whose text is broken without a
        // candidate (CandidateInputs); a target that has a candidate stands there as that candidate, whatever its last good
        // version became — so the first apply, in which every target's last good version came, keeps the inputs (and the
        // validations made against them) for the edits that follow.
        if (replaced.Exists(k => ReferenceTargets.Contains(k.Kind) && _definitions.GetValueOrDefault(k) is { Candidate: null, Broken: true }
            && !SameTarget(previous.GetValueOrDefault(k)?.Resource, _lastGood.GetValueOrDefault(k)?.Resource)))
        {
            _candidateInputs = null;   // a last good version of a reference target went or came
        }

        foreach (var key in changedKeys)
        {
            if (_lastGood.TryGetValue(key, out var obj))
            {
                _inForce[key] = obj;
            }
            else
            {
                _inForce.Remove(key);
            }
        }

        if (inputsChanged)
        {
            _inputs = InputsAfter(replaced);
        }

        _applied = true;
        var kept = _kept.ToList();
        kept.Sort(ResourceKey.Order);
        return new ManifestSetResult(_inputs, Problems(), kept)
        {
            InputsChanged = inputsChanged,
            InForce = _lastGood,
            Changed = changedKeys,
            Validated = validated,
        };
    }

    /// <summary>
    /// The inputs in force after <paramref name="replaced"/> changed: when they are only RouteGroups edited or added (and
    /// PreviewGrants, which translation does not read), the last inputs with those RouteGroups put in place
    /// (<see cref="RoutingInputs.WithRouteGroup"/>: the inventory is shared, the RouteGroup list copied), else every object
    /// in force collected anew. Both give the same lists: collecting 20,000 objects and sorting 10,000 RouteGroups again
    /// was a tenth of a RouteGroup edit's work at 10,000 RouteGroups.
    /// </summary>
    private RoutingInputs InputsAfter(List<ResourceKey> replaced)
    {
        if (_applied && replaced.Count <= PatchedRouteGroupsLimit
            && replaced.TrueForAll(k => k.Kind == PreviewGrant.KindName || (k.Kind == RouteGroup.KindName && _lastGood.ContainsKey(k))))
        {
            var inputs = _inputs;
            foreach (var key in replaced.Where(k => k.Kind == RouteGroup.KindName))
            {
                inputs = inputs.WithRouteGroup((RouteGroup)_lastGood[key].Resource);
            }

            return inputs;
        }

        return new RoutingInputs(_inForce.Values.Select(o => o.Resource));
    }

    /// <summary>What the files say of <paramref name="key"/>: its first definition, whether some file names it broken, the other definitions.</summary>
    /// <param name="key">The object's key.</param>
    /// <param name="readFiles">The files' objects and problems by key, as this apply has read them so far (each file is read once, not once per key it names).</param>
    private Definition? Define(ResourceKey key, Dictionary<string, FileKeys> readFiles)
    {
        if (!_files.TryGetPaths(key, out var paths))
        {
            return null;
        }

        ManifestObject? candidate = null;
        var broken = false;
        var duplicates = new List<ManifestProblem>();
        foreach (var path in paths)
        {
            var file = _files[path];
            if (ManifestFileIndex.IsUnreadable(file))
            {
                broken = true;   // an unreadable file keeps what it defined before
                continue;
            }

            if (!readFiles.TryGetValue(path, out var keys) || !ReferenceEquals(keys.File, file))
            {
                readFiles[path] = keys = new FileKeys(file);
            }

            broken |= keys.Problems.Contains(key);
            foreach (var obj in keys.Objects[key])
            {
                if (candidate is null)
                {
                    candidate = obj;
                }
                else
                {
                    duplicates.Add(new ManifestProblem(key, "metadata.name", $"defined again; the definition in {candidate.Location} is used", obj.Location));
                }
            }
        }

        // A new version that says the same to translation keeps the instance in force.
        if (candidate is not null && _lastGood.TryGetValue(key, out var good) && !ReferenceEquals(good.Resource, candidate.Resource) && RoutingFields.Equal(good.Resource, candidate.Resource))
        {
            candidate = good.Location == candidate.Location ? good : candidate with { Resource = good.Resource };
        }

        return new Definition(candidate, broken, [.. duplicates], paths[0]);
    }

    /// <summary>Decides what of <paramref name="key"/> is in force and what problems it has; returns whether its candidate was validated (not known from before).</summary>
    private bool Evaluate(ResourceKey key, Definition? definition, ImmutableDictionary<ResourceKey, ManifestObject>.Builder inForce)
    {
        _kept.Remove(key);
        _keyProblems.Remove(key);
        var problems = new List<ManifestProblem>(definition?.Duplicates ?? []);
        var broken = definition?.Broken ?? false;
        var validated = false;
        if (definition?.Candidate is { } candidate)
        {
            var inputs = CandidateInputs();
            IReadOnlyList<ManifestProblem> invalid;
            if (_validations.TryGetValue(key, out var known) && ReferenceEquals(known.Resource, candidate.Resource) && ReferenceEquals(known.Inputs, inputs))
            {
                invalid = known.Problems;
            }
            else
            {
                validated = true;
                try
                {
                    invalid = ManifestValidator.Validate(candidate.Resource, inputs);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A validator bug makes this one object invalid, never the whole set.
                    invalid = [new ManifestProblem(key, "", $"cannot be validated: {e.GetType().Name}: {e.Message}")];
                }

                _validations[key] = (candidate.Resource, inputs, invalid);
            }

            if (invalid.Count == 0)
            {
                inForce[key] = candidate;
                Keep(key, problems);
                return validated;
            }

            problems.AddRange(invalid.Select(p => p with { Location = candidate.Location }));
            if (invalid.Any(p => p.Kind == ProblemKind.NotPermitted))
            {
                // Not a broken edit but a refused permission (or a revoked one): nothing of it stays in force.
                inForce.Remove(key);
                Keep(key, problems);
                return validated;
            }

            broken = true;
        }
        else
        {
            _validations.Remove(key);
        }

        if (broken && inForce.TryGetValue(key, out var good))
        {
            // A last good version is kept for a broken edit, never past a permission it no longer has: a grant
            // withdrawn while the object's text is broken takes effect all the same.
            if (Refusals(good, CandidateInputs()) is { Count: > 0 } refusals)
            {
                problems.AddRange(refusals.Select(p => p with { Location = good.Location }));
                inForce.Remove(key);
            }
            else
            {
                _kept.Add(key);
            }
        }
        else
        {
            inForce.Remove(key);
        }

        Keep(key, problems);
        return validated;
    }

    private void Keep(ResourceKey key, List<ManifestProblem> problems)
    {
        if (problems.Count > 0)
        {
            _keyProblems[key] = [.. problems];
        }
    }

    /// <summary>
    /// What references resolve against: what will be in force — the candidates and, for objects whose current text is
    /// broken, their last good version (a typo in a Service's file must not reject the RouteGroups that use it). Kept
    /// while no reference target changes as validation sees it (<see cref="SameTarget"/>): it reads nothing else from it.
    /// </summary>
    private RoutingInputs CandidateInputs() => _candidateInputs ??= new RoutingInputs(_definitions
        .Select(d => d.Value.Candidate ?? (d.Value.Broken ? _lastGood.GetValueOrDefault(d.Key) : null))
        .OfType<ManifestObject>()
        .Select(o => o.Resource));

    /// <summary>Every problem: the files' own (in path order), then each object's (in the order of the files defining it).</summary>
    private List<ManifestProblem> Problems()
    {
        var problems = _files.FileProblems.ToList();
        problems.AddRange(_keyProblems
            .OrderBy(p => _definitions.GetValueOrDefault(p.Key)?.FirstPath ?? "", StringComparer.Ordinal)
            .ThenBy(p => p.Key, ResourceKey.Order)
            .SelectMany(p => p.Value));
        return problems;
    }

    /// <summary>
    /// Whether references to <paramref name="a"/> and <paramref name="b"/> validate alike: <see cref="ManifestValidator"/>
    /// reads of a Sandbox it refers to only that it exists, of a LocalWorkload its spec, of a Service everything. So a
    /// LocalWorkload's phase changing, or a Sandbox's status, validates nothing again.
    /// </summary>
    private static bool SameTarget(IManifestObject? a, IManifestObject? b) => ReferenceEquals(a, b) || (a, b) switch
    {
        (Sandbox, Sandbox) => true,
        (LocalWorkload x, LocalWorkload y) => JsonNode.DeepEquals(RoutingFields.Of(x with { Status = null }), RoutingFields.Of(y with { Status = null })),
        _ => false,
    };

    private static bool SameProblems(ManifestProblem[]? a, ManifestProblem[]? b) =>
        (a ?? []).AsSpan().SequenceEqual(b ?? []);

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

    /// <summary>
    /// A file's objects by key (in document order) and the keys its problems name: an edit of one object of a file of
    /// hundreds affects every key of that file, and looking each up by scanning the file cost its square.
    /// </summary>
    private sealed class FileKeys(ManifestFile file)
    {
        public ManifestFile File { get; } = file;

        public ILookup<ResourceKey, ManifestObject> Objects { get; } = file.Contents.Objects.ToLookup(o => o.Resource.Key);

        public HashSet<ResourceKey> Problems { get; } = [.. file.Contents.Problems.Where(p => p.Resource is not null).Select(p => p.Resource!)];
    }

    /// <summary>What the files say of one key.</summary>
    /// <param name="Candidate">Its first definition (by file path, then document), if any.</param>
    /// <param name="Broken">Whether some file names it in a problem (or could not be read at all).</param>
    /// <param name="Duplicates">A problem for each further definition.</param>
    /// <param name="FirstPath">The first file naming it, to order problems.</param>
    private sealed record Definition(ManifestObject? Candidate, bool Broken, ManifestProblem[] Duplicates, string FirstPath);
}
