using XdsControlPlane.Translation.HttpFilters;

namespace XdsControlPlane.Translation;

/// <summary>What the node groups' assemblers build with: the options, the resource builders and the HTTP filters.</summary>
/// <param name="Options">Names, ports and defaults.</param>
/// <param name="Routes">Builds a Service port's routes.</param>
/// <param name="Listeners">Builds listeners (their connection managers run <paramref name="Filters"/>).</param>
/// <param name="Clusters">Builds clusters.</param>
/// <param name="Filters">The HTTP filters of each role, which also configure every virtual host and route.</param>
internal sealed record ResourceBuilders(TranslationOptions Options, RouteTranslator Routes, ListenerTranslator Listeners, ClusterTranslator Clusters, HttpFilterRegistry Filters);

/// <summary>
/// Assembles the resources of one node group (one of <see cref="DataPlaneRoles.All"/>) from the routing plan (the
/// Service ports' state and the other virtual hosts) and the clusters. Each assembler keeps what it built: a full translation reuses every unchanged port's parts, an
/// incremental one rebuilds only the changed ports'. Not thread-safe, like the translator that owns it.
/// </summary>
internal abstract class NodeGroupAssembler
{
    /// <summary>The node group, a <see cref="DataPlaneRoles"/> value.</summary>
    public abstract string Role { get; }

    /// <summary>The assembler for <paramref name="role"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not one of <see cref="DataPlaneRoles.All"/>.</exception>
    public static NodeGroupAssembler For(string role, ResourceBuilders builders) => role switch
    {
        DataPlaneRoles.Gateway => new GatewayAssembler(builders),
        DataPlaneRoles.Sidecar => new SidecarAssembler(builders),
        DataPlaneRoles.Grpc => new GrpcAssembler(builders),
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a data-plane role"),
    };

    /// <summary>Assembles the group from the whole plan (after a full translation: ports and hosts may have come or gone).</summary>
    public abstract void Assemble(RoutingPlan plan);

    /// <summary>Reassembles what <paramref name="changed"/> ports touch (the ports and other hosts are the same as at the last <see cref="Assemble"/>).</summary>
    public abstract void Reassemble(RoutingPlan plan, IReadOnlyCollection<ServicePortState> changed);

    /// <summary>The group's resources as last assembled, in a stable order, as a new list (lists handed out before stay as they were).</summary>
    public abstract IReadOnlyList<XdsResource> Resources(RoutingPlan plan, ClusterResources clusters);
}
