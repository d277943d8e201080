namespace XdsControlPlane.Model.Validation;

/// <summary>Checks the name and namespace every object has.</summary>
internal sealed class MetadataValidator : IManifestObjectValidator
{
    /// <inheritdoc />
    public void Validate(IManifestObject obj, RoutingInputs inputs, ValidationProblems problems)
    {
        var metadata = obj.Metadata;
        if (string.IsNullOrEmpty(metadata.Name))
        {
            problems.Add("metadata.name", "required");
        }
        else if (!SchemaPatterns.IsDnsSubdomain(metadata.Name))
        {
            problems.Add("metadata.name", $"must be a DNS subdomain (lower-case letters, digits, '-' and '.'), got '{metadata.Name}'");
        }

        if (!SchemaPatterns.IsDnsLabel(metadata.Namespace))
        {
            problems.Add("metadata.namespace", $"must be a DNS label of at most 63 characters, got '{metadata.Namespace}'");
        }
    }
}
