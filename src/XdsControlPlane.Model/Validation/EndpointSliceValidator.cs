namespace XdsControlPlane.Model.Validation;

/// <summary>Checks that an EndpointSlice names its Service.</summary>
internal sealed class EndpointSliceValidator : ManifestObjectValidator<EndpointSlice>
{
    /// <inheritdoc />
    protected override void Check(EndpointSlice obj, RoutingInputs inputs, ValidationProblems problems)
    {
        if (obj.ServiceName is null)
        {
            problems.Add("metadata.labels", $"needs label {EndpointSlice.ServiceNameLabel} naming its Service");
        }
    }
}
