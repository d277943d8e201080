using XdsControlPlane.Model;

namespace XdsControlPlane.Sources;

/// <summary>
/// The routing inputs in force: the objects of every source after the last-good rules, exactly as they were last
/// published. Written by the <see cref="SourcePipeline"/> just before it publishes; read by whoever needs to resolve
/// a name against what the data planes were given — the tunnel broker (Services, Sandboxes, a LocalWorkload's
/// outbound targets) and, next, the preview authorization service and the admission webhook.
/// </summary>
public sealed class RoutingInputsStore
{
    private volatile RoutingInputs? _current;

    /// <summary>The inputs in force; null until the first publication.</summary>
    public RoutingInputs? Current => _current;

    /// <summary>Puts <paramref name="inputs"/> in force (the source pipeline, before it publishes them).</summary>
    public void Set(RoutingInputs inputs) => _current = inputs ?? throw new ArgumentNullException(nameof(inputs));
}
