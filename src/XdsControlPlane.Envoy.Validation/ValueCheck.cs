namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// One compiled rule: <paramref name="Rule"/> names the annotation (<c>string.min_len</c>),
/// <paramref name="IsSatisfiedBy"/> tests a value, <paramref name="Requirement"/> says in words what is required.
/// </summary>
internal sealed record ValueCheck(string Rule, Func<object, bool> IsSatisfiedBy, string Requirement);
