using System.Numerics;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// The comparison rules shared by every numeric kind, <c>duration</c> and <c>timestamp</c>:
/// <c>const</c>, <c>lt</c>, <c>lte</c>, <c>gt</c>, <c>gte</c>, <c>in</c>, <c>not_in</c>. With both a lower and an
/// upper bound the value must lie inside the range when upper &gt; lower, and outside it otherwise
/// (protoc-gen-validate's exclusive ranges).
/// </summary>
internal sealed class RangeRules<T>
    where T : struct, IComparisonOperators<T, T, bool>, IEqualityOperators<T, T, bool>
{
    public T? Const { get; init; }
    public T? Lt { get; init; }
    public T? Lte { get; init; }
    public T? Gt { get; init; }
    public T? Gte { get; init; }
    public IReadOnlyList<T> In { get; init; } = [];
    public IReadOnlyList<T> NotIn { get; init; } = [];

    /// <summary>Turns the rules into checks over boxed values converted by <paramref name="convert"/>.</summary>
    public IEnumerable<ValueCheck> Compile(string kind, Func<object, T> convert, Func<T, string> format)
    {
        if (Const is { } c)
        {
            yield return new($"{kind}.const", v => convert(v) == c, $"value must equal {format(c)}");
        }

        if (In.Count > 0)
        {
            var allowed = In.ToArray();
            yield return new($"{kind}.in", v => allowed.Contains(convert(v)), $"value must be one of [{string.Join(", ", allowed.Select(format))}]");
        }

        if (NotIn.Count > 0)
        {
            var banned = NotIn.ToArray();
            yield return new($"{kind}.not_in", v => !banned.Contains(convert(v)), $"value must not be one of [{string.Join(", ", banned.Select(format))}]");
        }

        var (lower, lowerInclusive, lowerRule) = Gt is { } gt ? (gt, false, "gt") : Gte is { } gte ? (gte, true, "gte") : (default(T?), false, "");
        var (upper, upperInclusive, upperRule) = Lt is { } lt ? (lt, false, "lt") : Lte is { } lte ? (lte, true, "lte") : (default(T?), false, "");

        if (lower is { } lo && upper is { } hi)
        {
            var rule = $"{kind}.{lowerRule}+{upperRule}";
            var loText = (lowerInclusive ? "[" : "(") + format(lo);
            var hiText = format(hi) + (upperInclusive ? "]" : ")");
            if (hi > lo)
            {
                yield return new(rule, v => AboveLower(convert(v), lo, lowerInclusive) && BelowUpper(convert(v), hi, upperInclusive), $"value must be inside range {loText}, {hiText}");
            }
            else
            {
                // Exclusive range: e.g. gt 10, lt 5 means "> 10 or < 5".
                var outside = $"value must be outside range {(upperInclusive ? "(" : "[")}{format(hi)}, {format(lo)}{(lowerInclusive ? ")" : "]")}";
                yield return new(rule, v => AboveLower(convert(v), lo, lowerInclusive) || BelowUpper(convert(v), hi, upperInclusive), outside);
            }
        }
        else if (lower is { } onlyLower)
        {
            var words = lowerInclusive ? "greater than or equal to" : "greater than";
            yield return new($"{kind}.{lowerRule}", v => AboveLower(convert(v), onlyLower, lowerInclusive), $"value must be {words} {format(onlyLower)}");
        }
        else if (upper is { } onlyUpper)
        {
            var words = upperInclusive ? "less than or equal to" : "less than";
            yield return new($"{kind}.{upperRule}", v => BelowUpper(convert(v), onlyUpper, upperInclusive), $"value must be {words} {format(onlyUpper)}");
        }
    }

    private static bool AboveLower(T value, T bound, bool inclusive) => inclusive ? value >= bound : value > bound;

    private static bool BelowUpper(T value, T bound, bool inclusive) => inclusive ? value <= bound : value < bound;
}
