using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>
/// Checks a PreviewGrant: exactly one owner, the token's hash (never echoed), an expiry with an offset, the preview it is
/// narrowed to, the description's length. Reads nothing else: a grant for an owner that does not exist (yet) is valid
/// and opens nothing until it does, so grants never make other objects validate again.
/// </summary>
internal sealed class PreviewGrantValidator : ManifestObjectValidator<PreviewGrant>
{
    /// <inheritdoc />
    protected override void Check(PreviewGrant obj, RoutingInputs inputs, ValidationProblems problems)
    {
        var spec = obj.Spec;
        if ((spec.Sandbox is null) == (spec.LocalWorkload is null))
        {
            problems.Add("spec", "needs exactly one of sandbox or localWorkload");
        }
        else if (!SchemaPatterns.IsDnsSubdomain(spec.Sandbox ?? spec.LocalWorkload))
        {
            problems.Add(spec.Sandbox is not null ? "spec.sandbox" : "spec.localWorkload", "must be a DNS subdomain name (lowercase letters, digits, '-' and '.', at most 253 characters)");
        }

        if (!SchemaPatterns.IsSecretHash(spec.SecretHash))
        {
            // Never echoed: a token pasted here by mistake would end up in logs.
            problems.Add("spec.secretHash", "must be 'sha256:' followed by 64 lowercase hex digits (the hash of the token, never the token)");
        }

        if (PreviewGrant.ParseTimestamp(spec.ExpiresAt) is null)
        {
            problems.Add("spec.expiresAt", spec.ExpiresAt is { Length: > 40 }
                ? $"must be an RFC 3339 timestamp with an offset, such as 2026-12-06T09:00:00Z; got {Number(spec.ExpiresAt.Length)} characters"
                : $"must be an RFC 3339 timestamp with an offset, such as 2026-12-06T09:00:00Z, got '{spec.ExpiresAt}'");
        }

        if (spec.Preview is { } preview)
        {
            if (!SchemaPatterns.IsServiceReference(preview.Service))
            {
                problems.Add("spec.preview.service", "must be a Service name, or name.namespace");
            }

            if (preview.Port is < 1 or > 65535)
            {
                problems.Add("spec.preview.port", $"must be from 1 to 65535, got {Number(preview.Port)}");
            }
        }

        if (spec.Description is { Length: > PreviewGrantSpec.MaxDescriptionLength } description)
        {
            problems.Add("spec.description", $"at most {Number(PreviewGrantSpec.MaxDescriptionLength)} characters, got {Number(description.Length)}");
        }
    }
}
