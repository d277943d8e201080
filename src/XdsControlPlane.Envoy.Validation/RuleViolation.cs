namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// One broken rule: where (<see cref="FieldPath"/>), which annotation (<see cref="Rule"/>) and what the
/// value must be (<see cref="Requirement"/>).
/// </summary>
/// <param name="FieldPath">
/// Path from the validated message to the field, in proto field names, for example
/// <c>virtual_hosts[0].routes[2].match.headers[0].name</c>. Map entries read <c>metadata["key"]</c>.
/// </param>
/// <param name="Rule">
/// The <c>validate.rules</c> annotation broken, for example <c>string.min_len</c>, <c>repeated.min_items</c>,
/// <c>oneof.required</c>; or <c>unsupported</c> when the validator cannot check a rule it found.
/// </param>
/// <param name="Requirement">What the value must satisfy, in words.</param>
/// <param name="MessageType">Full proto name of the message that holds the field.</param>
public sealed record RuleViolation(string FieldPath, string Rule, string Requirement, string MessageType)
{
    /// <inheritdoc />
    public override string ToString() => $"{FieldPath}: {Requirement} ({Rule})";
}
