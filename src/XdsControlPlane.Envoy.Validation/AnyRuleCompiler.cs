using Validate;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>Compiles <c>validate.AnyRules</c> and <c>validate.MessageRules</c>.</summary>
internal static class AnyRuleCompiler
{
    private static readonly IReadOnlySet<string> ImplementedAny = new HashSet<string>(StringComparer.Ordinal) { "required", "in", "not_in" };
    private static readonly IReadOnlySet<string> ImplementedMessage = new HashSet<string>(StringComparer.Ordinal) { "required", "skip" };

    public static CompiledRules Compile(AnyRules rules, string kind)
    {
        var checks = new List<ValueCheck>();
        if (rules.In.Count > 0)
        {
            var allowed = rules.In.ToHashSet(StringComparer.Ordinal);
            checks.Add(new($"{kind}.in", v => allowed.Contains(((Google.Protobuf.WellKnownTypes.Any)v).TypeUrl), $"type URL must be one of [{string.Join(", ", rules.In)}]"));
        }

        if (rules.NotIn.Count > 0)
        {
            var banned = rules.NotIn.ToHashSet(StringComparer.Ordinal);
            checks.Add(new($"{kind}.not_in", v => !banned.Contains(((Google.Protobuf.WellKnownTypes.Any)v).TypeUrl), $"type URL must not be one of [{string.Join(", ", rules.NotIn)}]"));
        }

        return new CompiledRules
        {
            Required = rules.HasRequired && rules.Required,
            RequiredRule = $"{kind}.required",
            Checks = checks,
            Unsupported = RuleFields.Unimplemented(rules, ImplementedAny, kind),
        };
    }

    /// <summary>The <c>message</c> rules (<c>required</c>, <c>skip</c>) merged into rules of another kind.</summary>
    public static CompiledRules WithMessageRules(CompiledRules compiled, MessageRules? rules)
    {
        if (rules is null)
        {
            return compiled;
        }

        var messageRequired = rules.HasRequired && rules.Required;
        return new CompiledRules
        {
            Required = compiled.Required || messageRequired,
            RequiredRule = compiled.Required ? compiled.RequiredRule : "message.required",
            Skip = rules.HasSkip && rules.Skip,
            IgnoreEmpty = compiled.IgnoreEmpty,
            Checks = compiled.Checks,
            Items = compiled.Items,
            Keys = compiled.Keys,
            Values = compiled.Values,
            Unsupported = [.. compiled.Unsupported, .. RuleFields.Unimplemented(rules, ImplementedMessage, "message")],
        };
    }
}
