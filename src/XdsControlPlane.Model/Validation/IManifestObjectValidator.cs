namespace XdsControlPlane.Model.Validation;

/// <summary>Checks one part of a manifest object, adding every problem it finds (as YARP's <c>IRouteValidator</c>).</summary>
internal interface IManifestObjectValidator
{
    /// <summary>Adds the problems of <paramref name="obj"/> to <paramref name="problems"/>; references resolve against <paramref name="inputs"/>.</summary>
    void Validate(IManifestObject obj, RoutingInputs inputs, ValidationProblems problems);
}

/// <summary>A validator of one kind: objects of other kinds pass it untouched.</summary>
/// <typeparam name="T">The kind it checks.</typeparam>
internal abstract class ManifestObjectValidator<T> : IManifestObjectValidator
    where T : class, IManifestObject
{
    /// <inheritdoc />
    public void Validate(IManifestObject obj, RoutingInputs inputs, ValidationProblems problems)
    {
        if (obj is T typed)
        {
            Check(typed, inputs, problems);
        }
    }

    /// <summary>Adds the problems of <paramref name="obj"/> to <paramref name="problems"/>.</summary>
    protected abstract void Check(T obj, RoutingInputs inputs, ValidationProblems problems);
}
