using System.Globalization;

namespace XdsControlPlane.Model.Validation;

/// <summary>The problems validation found in one object, in the order found, each naming its field path.</summary>
/// <param name="key">The object.</param>
internal sealed class ValidationProblems(ResourceKey key)
{
    private readonly List<ManifestProblem> _all = [];

    /// <summary>Every problem so far.</summary>
    public IReadOnlyList<ManifestProblem> All => _all;

    /// <summary>Adds an invalid field.</summary>
    public void Add(string path, string reason) => _all.Add(new ManifestProblem(key, path, reason));

    /// <summary>Adds a reference to something that does not exist (or lacks the port referred to).</summary>
    public void AddReference(string path, string reason) => _all.Add(new ManifestProblem(key, path, reason) { Kind = ProblemKind.UnresolvedReference });

    /// <summary>Adds a reference the target does not permit.</summary>
    public void AddNotPermitted(string path, string reason) => _all.Add(new ManifestProblem(key, path, reason) { Kind = ProblemKind.NotPermitted });

    /// <summary>A number as problems print it (invariant culture).</summary>
    public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The ports of <paramref name="service"/> as problems print them (<c>80, 443</c>, or <c>no ports</c>).</summary>
    public static string Ports(KubeService service) =>
        service.Spec.Ports.Count == 0 ? "no ports" : string.Join(", ", service.Spec.Ports.Select(p => Number(p.Port)));
}
