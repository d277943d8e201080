using System.Globalization;
using Google.Protobuf.Reflection;
using Validate;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>Compiles <c>validate.EnumRules</c> and <c>validate.BoolRules</c>.</summary>
internal static class EnumRuleCompiler
{
    private static readonly IReadOnlySet<string> ImplementedEnum = new HashSet<string>(StringComparer.Ordinal)
    {
        "const", "defined_only", "in", "not_in",
    };

    private static readonly IReadOnlySet<string> ImplementedBool = new HashSet<string>(StringComparer.Ordinal) { "const" };

    public static CompiledRules Compile(EnumRules rules, EnumDescriptor type, string kind)
    {
        var checks = new List<ValueCheck>();
        static int Number(object value) => Convert.ToInt32(value, CultureInfo.InvariantCulture);
        string Name(int number) => type.FindValueByNumber(number)?.Name ?? number.ToString(CultureInfo.InvariantCulture);

        if (rules.HasConst)
        {
            var expected = rules.Const;
            checks.Add(new($"{kind}.const", v => Number(v) == expected, $"value must equal {Name(expected)}"));
        }

        if (rules.HasDefinedOnly && rules.DefinedOnly)
        {
            checks.Add(new($"{kind}.defined_only", v => type.FindValueByNumber(Number(v)) is not null, $"value must be one of the defined values of {type.FullName}"));
        }

        if (rules.In.Count > 0)
        {
            var allowed = rules.In.ToHashSet();
            checks.Add(new($"{kind}.in", v => allowed.Contains(Number(v)), $"value must be one of [{string.Join(", ", rules.In.Select(Name))}]"));
        }

        if (rules.NotIn.Count > 0)
        {
            var banned = rules.NotIn.ToHashSet();
            checks.Add(new($"{kind}.not_in", v => !banned.Contains(Number(v)), $"value must not be one of [{string.Join(", ", rules.NotIn.Select(Name))}]"));
        }

        return new CompiledRules { Checks = checks, Unsupported = RuleFields.Unimplemented(rules, ImplementedEnum, kind) };
    }

    public static CompiledRules Compile(BoolRules rules, string kind)
    {
        var checks = new List<ValueCheck>();
        if (rules.HasConst)
        {
            var expected = rules.Const;
            checks.Add(new($"{kind}.const", v => (bool)v == expected, $"value must be {(expected ? "true" : "false")}"));
        }

        return new CompiledRules { Checks = checks, Unsupported = RuleFields.Unimplemented(rules, ImplementedBool, kind) };
    }
}
