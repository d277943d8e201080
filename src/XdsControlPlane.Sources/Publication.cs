using XdsControlPlane.Model;

namespace XdsControlPlane.Sources;

/// <summary>Translates and publishes the routing inputs in force (the snapshot publisher); returns the problems translation met.</summary>
public interface IRoutingPublisher
{
    /// <summary>Translates <paramref name="inputs"/> and publishes the result.</summary>
    IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs);
}

/// <summary>
/// A publisher that also publishes EndpointSlice changes on their own (the <see cref="SourcePipeline"/>'s endpoint
/// lane), from its last translation, so an endpoint change reaches EDS without waiting for a pass that translates
/// something else. Changes are ordered by the pipeline's sequence: a pass says up to which change it includes, and an
/// endpoint change published after it (a higher sequence) stays in force over what that pass translated.
/// </summary>
public interface IEndpointPublisher : IRoutingPublisher
{
    /// <summary>Publishes the endpoints the changed slices now give; a change a pass already included does nothing.</summary>
    void PublishEndpoints(IReadOnlyList<EndpointChange> changes);

    /// <summary>Translates <paramref name="inputs"/> — which include every change up to <paramref name="included"/> — and publishes the result.</summary>
    IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs, long included);
}

/// <summary>An EndpointSlice as one change of the <see cref="SourcePipeline"/> gave it, and that change's place in the pipeline's sequence.</summary>
/// <param name="Slice">The slice as it now is.</param>
/// <param name="Sequence">The change's sequence number: a pass that includes it, or a later change of the same origin, supersedes it.</param>
public sealed record EndpointChange(EndpointSlice Slice, long Sequence);

/// <summary>
/// Told of every pass of the <see cref="SourcePipeline"/> that applied changes (status writers, the replicas' ACK
/// sharing). Called on the pipeline's loop: an observer must only take note and return — never wait for I/O — so
/// publication never waits for it.
/// </summary>
public interface IPublicationObserver
{
    /// <summary>A pass applied changes (and published, when <see cref="Publication.Published"/>).</summary>
    void Applied(Publication publication);
}

/// <summary>What one pass of the <see cref="SourcePipeline"/> did.</summary>
/// <param name="Result">The last-good set after the pass: the inputs in force, the objects in force by key, what changed.</param>
/// <param name="Problems">Every problem in force after the pass: validation's and those translation found besides (each once).</param>
/// <param name="First">The first pass (every source had just delivered its whole state), or the first after a pass that failed: every object is to be judged again.</param>
/// <param name="Published">Whether the pass translated and published (the first pass, or one that changed an input in force).</param>
public sealed record Publication(ManifestSetResult Result, IReadOnlyList<ManifestProblem> Problems, bool First, bool Published);
