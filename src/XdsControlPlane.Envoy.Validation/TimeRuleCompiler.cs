using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Validate;
using Duration = Google.Protobuf.WellKnownTypes.Duration;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// Compiles <c>validate.DurationRules</c> and <c>validate.TimestampRules</c>. Both compare as nanoseconds in an
/// <see cref="Int128"/>; a value that is not a valid Duration/Timestamp fails before any comparison.
/// </summary>
internal static class TimeRuleCompiler
{
    private const long MaxDurationSeconds = 315_576_000_000;
    private const long MinTimestampSeconds = -62_135_596_800; // 0001-01-01T00:00:00Z
    private const long MaxTimestampSeconds = 253_402_300_799; // 9999-12-31T23:59:59Z

    private static readonly IReadOnlySet<string> ImplementedDuration = new HashSet<string>(StringComparer.Ordinal)
    {
        "required", "const", "lt", "lte", "gt", "gte", "in", "not_in",
    };

    private static readonly IReadOnlySet<string> ImplementedTimestamp = new HashSet<string>(StringComparer.Ordinal)
    {
        "required", "const", "lt", "lte", "gt", "gte", "lt_now", "gt_now", "within",
    };

    public static CompiledRules Compile(DurationRules rules, string kind)
    {
        static Int128 Nanos(Duration d) => ((Int128)d.Seconds * 1_000_000_000) + d.Nanos;
        Int128 Value(object v) => Nanos((Duration)v);
        var range = new RangeRules<Int128>
        {
            Const = rules.Const is { } c ? Nanos(c) : null,
            Lt = rules.Lt is { } lt ? Nanos(lt) : null,
            Lte = rules.Lte is { } lte ? Nanos(lte) : null,
            Gt = rules.Gt is { } gt ? Nanos(gt) : null,
            Gte = rules.Gte is { } gte ? Nanos(gte) : null,
            In = rules.In.Select(Nanos).ToArray(),
            NotIn = rules.NotIn.Select(Nanos).ToArray(),
        };
        var checks = new List<ValueCheck> { new($"{kind}.valid", v => IsValid((Duration)v), "value must be a valid duration (|seconds| <= 315576000000, nanos within a second and of the same sign)") };
        checks.AddRange(range.Compile(kind, Value, FormatDuration));
        return new CompiledRules
        {
            Required = rules.HasRequired && rules.Required,
            RequiredRule = $"{kind}.required",
            Checks = checks,
            Unsupported = RuleFields.Unimplemented(rules, ImplementedDuration, kind),
        };
    }

    public static CompiledRules Compile(TimestampRules rules, string kind, TimeProvider clock)
    {
        static Int128 Nanos(Timestamp t) => ((Int128)t.Seconds * 1_000_000_000) + t.Nanos;
        Int128 Value(object v) => Nanos((Timestamp)v);
        Int128 Now() => Nanos(Timestamp.FromDateTimeOffset(clock.GetUtcNow()));
        var range = new RangeRules<Int128>
        {
            Const = rules.Const is { } c ? Nanos(c) : null,
            Lt = rules.Lt is { } lt ? Nanos(lt) : null,
            Lte = rules.Lte is { } lte ? Nanos(lte) : null,
            Gt = rules.Gt is { } gt ? Nanos(gt) : null,
            Gte = rules.Gte is { } gte ? Nanos(gte) : null,
        };
        var checks = new List<ValueCheck> { new($"{kind}.valid", v => IsValid((Timestamp)v), "value must be a valid timestamp (0001-01-01 to 9999-12-31, nanos within a second)") };
        checks.AddRange(range.Compile(kind, Value, FormatTimestamp));
        if (rules.HasLtNow && rules.LtNow)
        {
            checks.Add(new($"{kind}.lt_now", v => Value(v) < Now(), "value must be in the past"));
        }

        if (rules.HasGtNow && rules.GtNow)
        {
            checks.Add(new($"{kind}.gt_now", v => Value(v) > Now(), "value must be in the future"));
        }

        if (rules.Within is { } within)
        {
            var window = ((Int128)within.Seconds * 1_000_000_000) + within.Nanos;
            checks.Add(new($"{kind}.within", v => Int128.Abs(Value(v) - Now()) <= window, $"value must be within {FormatDuration(window)} of now"));
        }

        return new CompiledRules
        {
            Required = rules.HasRequired && rules.Required,
            RequiredRule = $"{kind}.required",
            Checks = checks,
            Unsupported = RuleFields.Unimplemented(rules, ImplementedTimestamp, kind),
        };
    }

    private static bool IsValid(Duration d) =>
        d.Seconds is >= -MaxDurationSeconds and <= MaxDurationSeconds &&
        d.Nanos is > -1_000_000_000 and < 1_000_000_000 &&
        !(d.Seconds > 0 && d.Nanos < 0) && !(d.Seconds < 0 && d.Nanos > 0);

    private static bool IsValid(Timestamp t) =>
        t.Seconds is >= MinTimestampSeconds and <= MaxTimestampSeconds && t.Nanos is >= 0 and < 1_000_000_000;

    private static string FormatDuration(Int128 nanos)
    {
        var seconds = (decimal)nanos / 1_000_000_000m;
        return seconds.ToString("0.#########", CultureInfo.InvariantCulture) + "s";
    }

    private static string FormatTimestamp(Int128 nanos)
    {
        var seconds = (long)(nanos / 1_000_000_000);
        var rest = (int)(nanos % 1_000_000_000);
        return new Timestamp { Seconds = seconds, Nanos = rest }.ToDateTimeOffset().ToString("O", CultureInfo.InvariantCulture);
    }
}
