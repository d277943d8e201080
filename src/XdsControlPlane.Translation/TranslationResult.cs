using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>What translation produced: the resources of each node group (<see cref="DataPlaneRoles"/>) and the problems met.</summary>
/// <param name="Groups">Node group → its resources, in a stable order.</param>
/// <param name="Problems">References that could not be resolved (those routes were left out, traffic keeps the baseline).</param>
public sealed record TranslationResult(IReadOnlyDictionary<string, IReadOnlyList<XdsResource>> Groups, IReadOnlyList<ManifestProblem> Problems)
{
    /// <summary>How this translation made the ClusterLoadAssignments of each Service, to publish an endpoint change without translating again.</summary>
    public EndpointAssignments Endpoints { get; init; } = EndpointAssignments.None;

    /// <summary>
    /// The objects whose routes a virtual host (by name) carries — a Service port's host: the RouteGroups, Sandboxes and
    /// LocalWorkloads routing by key there; a preview host: the Sandbox or LocalWorkload whose preview it serves; empty
    /// for other hosts. Ask it before the next translation (it reads that
    /// translation's state), on the thread that translated.
    /// </summary>
    public Func<string, IReadOnlyList<ResourceKey>> OwnersOf { get; init; } = static _ => [];
}
