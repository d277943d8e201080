using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Validate;
using Case = Validate.FieldRules.TypeOneofCase;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>Turns the <c>(validate.rules)</c> annotation of a field into <see cref="CompiledRules"/>.</summary>
internal sealed class RuleCompiler(TimeProvider clock)
{
    private static readonly IReadOnlySet<string> ImplementedRepeated = new HashSet<string>(StringComparer.Ordinal)
    {
        "min_items", "max_items", "unique", "items", "ignore_empty",
    };

    private static readonly IReadOnlySet<string> ImplementedMap = new HashSet<string>(StringComparer.Ordinal)
    {
        "min_pairs", "max_pairs", "no_sparse", "keys", "values", "ignore_empty",
    };

    /// <summary>The rules annotated on <paramref name="field"/>; <see cref="CompiledRules.None"/> when it has none.</summary>
    public CompiledRules ForField(FieldDescriptor field)
    {
        var rules = field.GetOptions()?.GetExtension(ValidateExtensions.Rules);
        if (rules is null)
        {
            return CompiledRules.None;
        }

        if (field.IsMap)
        {
            return rules.TypeCase == Case.Map ? ForMap(field, rules.Map) : Mismatch(rules, field);
        }

        if (field.IsRepeated)
        {
            return rules.TypeCase == Case.Repeated && rules.Message is null ? ForRepeated(field, rules.Repeated) : Mismatch(rules, field);
        }

        return ForElement(field, rules, prefix: string.Empty);
    }

    private CompiledRules ForElement(FieldDescriptor element, FieldRules rules, string prefix)
    {
        var shape = ElementKinds.ShapeOf(element);
        if (IsRequiredOnlyAnyRuleOnMessage(rules, shape))
        {
            // Envoy annotates some plain message fields with `any = {required: true}`
            // (ExtensionConfigSource.config_source). Presence is the only meaning that rule can have there.
            return AnyRuleCompiler.WithMessageRules(new CompiledRules { Required = true, RequiredRule = "any.required" }, rules.Message);
        }

        if (rules.TypeCase != Case.None && rules.TypeCase != ElementKinds.RuleCaseFor(element))
        {
            return Mismatch(rules, element);
        }

        // Wrappers are messages: `message.required` applies to them as to any other message field.
        if (rules.Message is not null && shape == ElementShape.Scalar)
        {
            return Mismatch(rules, element);
        }

        var kind = prefix + ElementKinds.NameOf(rules.TypeCase);
        var compiled = rules.TypeCase switch
        {
            Case.None => CompiledRules.None,
            Case.String => StringRuleCompiler.Compile(rules.String, kind),
            Case.Bytes => BytesRuleCompiler.Compile(rules.Bytes, kind),
            Case.Bool => EnumRuleCompiler.Compile(rules.Bool, kind),
            Case.Enum => EnumRuleCompiler.Compile(rules.Enum, element.EnumType, kind),
            Case.Duration => TimeRuleCompiler.Compile(rules.Duration, kind),
            Case.Timestamp => TimeRuleCompiler.Compile(rules.Timestamp, kind, clock),
            Case.Any => AnyRuleCompiler.Compile(rules.Any, kind),
            _ => NumericRuleCompiler.Compile(NumericRules(rules), kind),
        };
        return AnyRuleCompiler.WithMessageRules(compiled, rules.Message);
    }

    private CompiledRules ForRepeated(FieldDescriptor field, RepeatedRules rules)
    {
        var checks = new List<ValueCheck>();
        if (rules.HasMinItems)
        {
            var min = rules.MinItems;
            checks.Add(new("repeated.min_items", v => (ulong)((IList)v).Count >= min, $"value must contain at least {min} item(s)"));
        }

        if (rules.HasMaxItems)
        {
            var max = rules.MaxItems;
            checks.Add(new("repeated.max_items", v => (ulong)((IList)v).Count <= max, $"value must contain at most {max} item(s)"));
        }

        if (rules.HasUnique && rules.Unique)
        {
            checks.Add(new("repeated.unique", v => AllDistinct((IList)v), "value must contain unique items"));
        }

        return new CompiledRules
        {
            Checks = checks,
            IgnoreEmpty = RuleFields.Get(rules, "ignore_empty") is true,
            Items = rules.Items is { } items ? ForElement(field, items, "repeated.items.") : null,
            Unsupported = RuleFields.Unimplemented(rules, ImplementedRepeated, "repeated"),
        };
    }

    private CompiledRules ForMap(FieldDescriptor field, MapRules rules)
    {
        var checks = new List<ValueCheck>();
        if (rules.HasMinPairs)
        {
            var min = rules.MinPairs;
            checks.Add(new("map.min_pairs", v => (ulong)((IDictionary)v).Count >= min, $"value must contain at least {min} pair(s)"));
        }

        if (rules.HasMaxPairs)
        {
            var max = rules.MaxPairs;
            checks.Add(new("map.max_pairs", v => (ulong)((IDictionary)v).Count <= max, $"value must contain at most {max} pair(s)"));
        }

        // map.no_sparse forbids unset message values. C# MapField rejects null values on insert and parse,
        // so every map the validator can see already satisfies it.
        var entry = field.MessageType;
        return new CompiledRules
        {
            Checks = checks,
            IgnoreEmpty = RuleFields.Get(rules, "ignore_empty") is true,
            Keys = rules.Keys is { } keys ? ForElement(entry.FindFieldByNumber(1), keys, "map.keys.") : null,
            Values = rules.Values is { } values ? ForElement(entry.FindFieldByNumber(2), values, "map.values.") : null,
            Unsupported = RuleFields.Unimplemented(rules, ImplementedMap, "map"),
        };
    }

    private static bool IsRequiredOnlyAnyRuleOnMessage(FieldRules rules, ElementShape shape) =>
        rules.TypeCase == Case.Any && shape == ElementShape.Message &&
        RuleFields.SetFieldNames(rules.Any).SequenceEqual(["required"]) && rules.Any.Required;

    private static IMessage NumericRules(FieldRules rules) => rules.TypeCase switch
    {
        Case.Float => rules.Float,
        Case.Double => rules.Double,
        Case.Int32 => rules.Int32,
        Case.Int64 => rules.Int64,
        Case.Uint32 => rules.Uint32,
        Case.Uint64 => rules.Uint64,
        Case.Sint32 => rules.Sint32,
        Case.Sint64 => rules.Sint64,
        Case.Fixed32 => rules.Fixed32,
        Case.Fixed64 => rules.Fixed64,
        Case.Sfixed32 => rules.Sfixed32,
        Case.Sfixed64 => rules.Sfixed64,
        _ => throw new ArgumentOutOfRangeException(nameof(rules), rules.TypeCase, "not a numeric rule kind"),
    };

    private static CompiledRules Mismatch(FieldRules rules, FieldDescriptor field)
    {
        var kinds = RuleFields.SetFieldNames(rules).ToArray();
        return new CompiledRules
        {
            Unsupported = [$"rule kind {string.Join("+", kinds)} does not apply to a field of type {ElementKinds.Describe(field)}"],
        };
    }

    private static bool AllDistinct(IList items)
    {
        var seen = new HashSet<object?>();
        foreach (var item in items)
        {
            if (!seen.Add(item))
            {
                return false;
            }
        }

        return true;
    }
}
