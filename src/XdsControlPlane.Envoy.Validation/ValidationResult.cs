namespace XdsControlPlane.Envoy.Validation;

/// <summary>Every rule a message tree breaks, in the order the fields were visited.</summary>
public sealed class ValidationResult
{
    internal ValidationResult(IReadOnlyList<RuleViolation> violations) => Violations = violations;

    /// <summary>The broken rules; empty when the message is valid.</summary>
    public IReadOnlyList<RuleViolation> Violations { get; }

    /// <summary><see langword="true"/> when no rule is broken.</summary>
    public bool IsValid => Violations.Count == 0;

    /// <summary>One violation per line, or <c>valid</c>.</summary>
    public override string ToString() => IsValid ? "valid" : string.Join(Environment.NewLine, Violations);
}
