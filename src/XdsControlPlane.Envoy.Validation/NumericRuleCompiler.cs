using System.Globalization;
using Google.Protobuf;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// Compiles the twelve numeric rule messages (<c>validate.Int32Rules</c> … <c>validate.DoubleRules</c>), which share
/// one shape. Integers compare as <see cref="Int128"/> (every 32/64-bit kind fits), floats as <see cref="double"/>.
/// </summary>
internal static class NumericRuleCompiler
{
    private static readonly IReadOnlySet<string> Implemented = new HashSet<string>(StringComparer.Ordinal)
    {
        "const", "lt", "lte", "gt", "gte", "in", "not_in", "ignore_empty",
    };

    public static CompiledRules Compile(IMessage rules, string kind)
    {
        var isFloat = kind.EndsWith("float", StringComparison.Ordinal) || kind.EndsWith("double", StringComparison.Ordinal);
        var checks = isFloat
            ? Read(rules, ToDouble).Compile(kind, ToDouble, d => d.ToString("R", CultureInfo.InvariantCulture))
            : Read(rules, ToInt128).Compile(kind, ToInt128, i => i.ToString(CultureInfo.InvariantCulture));
        return new CompiledRules
        {
            Checks = checks.ToArray(),
            IgnoreEmpty = RuleFields.Get(rules, "ignore_empty") is true,
            Unsupported = RuleFields.Unimplemented(rules, Implemented, kind),
        };
    }

    private static RangeRules<T> Read<T>(IMessage rules, Func<object, T> convert)
        where T : struct, System.Numerics.INumber<T>
    {
        T? Get(string name) => RuleFields.Get(rules, name) is { } value ? convert(value) : null;
        return new RangeRules<T>
        {
            Const = Get("const"),
            Lt = Get("lt"),
            Lte = Get("lte"),
            Gt = Get("gt"),
            Gte = Get("gte"),
            In = RuleFields.GetList(rules, "in").Select(convert).ToArray(),
            NotIn = RuleFields.GetList(rules, "not_in").Select(convert).ToArray(),
        };
    }

    /// <summary>Converts any boxed proto integer (enum values included) to <see cref="Int128"/>.</summary>
    internal static Int128 ToInt128(object value) => value switch
    {
        int i => i,
        long l => l,
        uint u => u,
        ulong ul => ul,
        _ => Convert.ToInt64(value, CultureInfo.InvariantCulture),
    };

    private static double ToDouble(object value) => Convert.ToDouble(value, CultureInfo.InvariantCulture);

    /// <summary>True when a boxed proto number is zero (for <c>ignore_empty</c>).</summary>
    internal static bool IsZero(object value) => value switch
    {
        float f => f == 0,
        double d => d == 0,
        _ => ToInt128(value) == 0,
    };
}
