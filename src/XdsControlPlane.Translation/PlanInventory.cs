using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// The inventory one routing object is planned against, read through recorded lookups: the plan can be reused for as
/// long as every lookup it made gives the same instances (<see cref="PlanDependencies.HoldIn"/>), so a change to one
/// Service, Sandbox or LocalWorkload re-plans only the objects that looked it up.
/// </summary>
internal sealed class PlanInventory(RoutingInputs inputs)
{
    private readonly List<PlanLookup> _lookups = [];
    private bool _unbounded;

    /// <summary>What the plan depends on, once planned.</summary>
    public PlanDependencies Dependencies => _unbounded ? PlanDependencies.Unbounded : new PlanDependencies([.. _lookups]);

    public KubeService? FindService(string ns, string name) => Record(PlanLookupKind.Service, ns, name, null, inputs.FindService(ns, name));

    public KubeService? FindForkService(string ns, string sandbox, string baseline) =>
        Record(PlanLookupKind.Fork, ns, sandbox, baseline, inputs.FindForkService(ns, sandbox, baseline));

    public LocalWorkload? FindLocalWorkload(string ns, string name) => Record(PlanLookupKind.LocalWorkload, ns, name, null, inputs.FindLocalWorkload(ns, name));

    public Sandbox? FindSandbox(string ns, string name) => Record(PlanLookupKind.Sandbox, ns, name, null, inputs.FindSandbox(ns, name));

    public IReadOnlyList<(string Baseline, KubeService Fork)> ForkServicesOf(Sandbox sandbox)
    {
        (string, KubeService)[] forks = [.. inputs.ForkServicesOf(sandbox)];
        _lookups.Add(new PlanLookup(PlanLookupKind.ForksOf, sandbox.Metadata.Namespace, sandbox.Metadata.Name, null, new SandboxForks(sandbox, forks)));
        return forks;
    }

    /// <summary>
    /// The unresolved references of <paramref name="source"/>, in the validator's words: a reference is checked (and
    /// worded) in one place. Validation rejects such an object, so translation meets one only as a last good version
    /// kept in force, or when what it refers to was itself rejected; where validation reported the same problem, the
    /// source reports it once (<see cref="ManifestSetResult.Unreported"/>). The validator reads what it likes, so the
    /// plan then depends on the whole inventory.
    /// </summary>
    public IEnumerable<ManifestProblem> ReferenceProblems(IManifestObject source)
    {
        _unbounded = true;
        return ManifestValidator.Validate(source, inputs).Where(p => p.Kind == ProblemKind.UnresolvedReference);
    }

    private T? Record<T>(PlanLookupKind kind, string ns, string name, string? baseline, T? found)
        where T : class
    {
        _lookups.Add(new PlanLookup(kind, ns, name, baseline, found));
        return found;
    }
}

/// <summary>The lookups a plan made (null: it read more than lookups record, so it holds only for the same inventory).</summary>
internal sealed class PlanDependencies(PlanLookup[]? lookups)
{
    /// <summary>A plan that depends on the whole inventory.</summary>
    public static PlanDependencies Unbounded { get; } = new(null);

    /// <summary>Whether every lookup gives the same instance (or the same absence) in <paramref name="inputs"/>.</summary>
    public bool HoldIn(RoutingInputs inputs)
    {
        if (lookups is null)
        {
            return false;
        }

        foreach (var lookup in lookups)
        {
            if (!lookup.SameIn(inputs))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>What a lookup asked for.</summary>
internal enum PlanLookupKind
{
    /// <summary>A Service by namespace and name.</summary>
    Service,

    /// <summary>A Sandbox's fork of a baseline Service.</summary>
    Fork,

    /// <summary>A LocalWorkload by namespace and name.</summary>
    LocalWorkload,

    /// <summary>A Sandbox by namespace and name.</summary>
    Sandbox,

    /// <summary>Every fork Service of a Sandbox.</summary>
    ForksOf,
}

/// <summary>One recorded lookup and what it found.</summary>
internal readonly record struct PlanLookup(PlanLookupKind Kind, string Namespace, string Name, string? Baseline, object? Found)
{
    public bool SameIn(RoutingInputs inputs) => Kind switch
    {
        PlanLookupKind.Service => ReferenceEquals(inputs.FindService(Namespace, Name), Found),
        PlanLookupKind.Fork => ReferenceEquals(inputs.FindForkService(Namespace, Name, Baseline!), Found),
        PlanLookupKind.LocalWorkload => ReferenceEquals(inputs.FindLocalWorkload(Namespace, Name), Found),
        PlanLookupKind.Sandbox => ReferenceEquals(inputs.FindSandbox(Namespace, Name), Found),
        _ => ((SandboxForks)Found!).SameIn(inputs),
    };
}

/// <summary>The fork Services a Sandbox had when it was planned.</summary>
internal sealed record SandboxForks(Sandbox Sandbox, (string Baseline, KubeService Fork)[] Forks)
{
    public bool SameIn(RoutingInputs inputs)
    {
        var i = 0;
        foreach (var (baseline, fork) in inputs.ForkServicesOf(Sandbox))
        {
            if (i >= Forks.Length || Forks[i].Baseline != baseline || !ReferenceEquals(Forks[i].Fork, fork))
            {
                return false;
            }

            i++;
        }

        return i == Forks.Length;
    }
}
