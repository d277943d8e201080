using XdsControlPlane.Model.Validation;

namespace XdsControlPlane.Model;

/// <summary>
/// Checks manifest objects: their own fields (formats, ranges, one-of rules, weights) and their references to
/// Services, ports, Sandboxes and LocalWorkloads. Returns every problem with its field path; never throws on bad input.
/// Of the objects referred to it reads only Services (all of them), a Sandbox's existence and a LocalWorkload's spec:
/// <see cref="LastGoodManifestSet"/> validates again only when one of those changed, so keep it so or tell it.
/// </summary>
/// <remarks>
/// A composite, as YARP's <c>ConfigValidator</c> over its route and cluster validators: the metadata validator, then
/// the validator of the object's kind (one per kind, each in its own file), all writing to one list of problems.
/// </remarks>
public static class ManifestValidator
{
    private static readonly IManifestObjectValidator[] Validators =
    [
        new MetadataValidator(),
        new RouteGroupValidator(),
        new SandboxValidator(),
        new LocalWorkloadValidator(),
        new PreviewGrantValidator(),
        new ServiceValidator(),
        new EndpointSliceValidator(),
    ];

    /// <summary>Every problem of <paramref name="obj"/>, checking references against <paramref name="inputs"/>.</summary>
    public static IReadOnlyList<ManifestProblem> Validate(IManifestObject obj, RoutingInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(inputs);
        var problems = new ValidationProblems(obj.Key);
        foreach (var validator in Validators)
        {
            validator.Validate(obj, inputs, problems);
        }

        return problems.All;
    }
}
