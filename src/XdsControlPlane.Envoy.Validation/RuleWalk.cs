using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>One validation pass over one message tree: walks it depth first and collects violations.</summary>
internal sealed class RuleWalk(EnvoyRulesValidator validator)
{
    private readonly FieldPathBuilder _path = new();

    public List<RuleViolation> Violations { get; } = [];

    public void VisitMessage(IMessage message, int depth)
    {
        var descriptor = message.Descriptor;
        if (depth > validator.Options.MaxDepth)
        {
            Report(_path.ToString(), "max_depth", $"message nesting must not exceed {validator.Options.MaxDepth} levels", descriptor);
            return;
        }

        var plan = validator.PlanFor(descriptor);
        if (plan.Disabled)
        {
            return;
        }

        // Index loops, not foreach: this runs for every field of every message of every resource published, and an
        // interface enumerator is an allocation each time.
        var requiredOneofs = plan.RequiredOneofs;
        for (var i = 0; i < requiredOneofs.Count; i++)
        {
            var oneof = requiredOneofs[i];
            if (oneof.Accessor.GetCaseFieldDescriptor(message) is null)
            {
                var choices = string.Join(", ", oneof.Fields.Select(f => f.Name));
                Report(_path.With(oneof.Name), "oneof.required", $"exactly one of [{choices}] must be set", descriptor);
            }
        }

        // A oneof's fields are declared together, so its set case is looked up once per oneof, not once per field.
        OneofDescriptor? lastOneof = null;
        FieldDescriptor? lastCase = null;
        var fields = plan.Fields;
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            if (field.Field.RealContainingOneof is { } oneof)
            {
                if (!ReferenceEquals(oneof, lastOneof))
                {
                    (lastOneof, lastCase) = (oneof, oneof.Accessor.GetCaseFieldDescriptor(message));
                }

                if (lastCase != field.Field)
                {
                    continue;
                }
            }

            _path.PushField(field.Field.Name);
            VisitField(message, field, depth);
            _path.Pop();
        }
    }

    private void VisitField(IMessage message, FieldPlan plan, int depth)
    {
        var field = plan.Field;
        var rules = plan.Rules;
        ReportUnsupported(rules, field.ContainingType);
        var value = field.Accessor.GetValue(message);

        if (field.IsMap)
        {
            var map = (IDictionary)value;
            if (!RunChecks(rules, map, map.Count == 0, field.ContainingType) || map.Count == 0)
            {
                return; // an empty map has nothing to walk (and its enumerator would be an allocation)
            }

            foreach (DictionaryEntry entry in map)
            {
                _path.PushKey(entry.Key);
                if (rules.Keys is { } keyRules)
                {
                    VisitElement(entry.Key, ElementShape.Scalar, keyRules, field.ContainingType, depth);
                }

                VisitElement(entry.Value, plan.MapValueShape, rules.Values ?? CompiledRules.None, field.ContainingType, depth);
                _path.Pop();
            }
        }
        else if (field.IsRepeated)
        {
            var list = (IList)value;
            if (!RunChecks(rules, list, list.Count == 0, field.ContainingType))
            {
                return;
            }

            for (var i = 0; i < list.Count; i++)
            {
                _path.PushIndex(i);
                VisitElement(list[i], plan.Shape, rules.Items ?? CompiledRules.None, field.ContainingType, depth);
                _path.Pop();
            }
        }
        else
        {
            // proto3 `optional` scalars and proto2 fields track presence; unset ones are not checked.
            var absent = value is null || (plan.Shape == ElementShape.Scalar && field.HasPresence && !field.Accessor.HasValue(message));
            VisitElement(absent ? null : value, plan.Shape, rules, field.ContainingType, depth);
        }
    }

    private void VisitElement(object? value, ElementShape shape, CompiledRules rules, MessageDescriptor owner, int depth)
    {
        if (value is null)
        {
            if (rules.Required)
            {
                Report(_path.ToString(), rules.RequiredRule, "value is required", owner);
            }

            return;
        }

        if (!RunChecks(rules, value, IsEmpty(value), owner) || rules.Skip)
        {
            return;
        }

        if (shape == ElementShape.Message)
        {
            VisitMessage((IMessage)value, depth + 1);
        }
        else if (shape == ElementShape.Any)
        {
            VisitAny((Any)value, owner, depth);
        }
    }

    private void VisitAny(Any any, MessageDescriptor owner, int depth)
    {
        var typeName = Any.GetTypeName(any.TypeUrl);
        var type = validator.Options.AnyTypes.Find(typeName);
        if (type is null)
        {
            if (validator.Options.RejectUnknownAnyTypes)
            {
                Report(_path.ToString(), "any.known_type", $"type URL \"{any.TypeUrl}\" must name a known message type", owner);
            }

            return;
        }

        IMessage inner;
        try
        {
            inner = type.Parser.ParseFrom(any.Value);
        }
        catch (InvalidProtocolBufferException e)
        {
            Report(_path.ToString(), "any.decodable", $"value must be a serialized {typeName}: {e.Message}", owner);
            return;
        }

        VisitMessage(inner, depth + 1);
    }

    /// <summary>Runs the value checks; returns false when <c>ignore_empty</c> says to stop here.</summary>
    private bool RunChecks(CompiledRules rules, object value, bool isEmpty, MessageDescriptor owner)
    {
        if (rules.IgnoreEmpty && isEmpty)
        {
            return false;
        }

        var checks = rules.Checks;
        for (var i = 0; i < checks.Count; i++)
        {
            var check = checks[i];
            if (!check.IsSatisfiedBy(value))
            {
                Report(_path.ToString(), check.Rule, check.Requirement, owner);
            }
        }

        return true;
    }

    private void ReportUnsupported(CompiledRules rules, MessageDescriptor owner)
    {
        var unsupported = rules.AllUnsupported;
        for (var i = 0; i < unsupported.Count; i++)
        {
            Report(_path.ToString(), "unsupported", unsupported[i], owner);
        }
    }

    private static bool IsEmpty(object value) => value switch
    {
        string s => s.Length == 0,
        ByteString b => b.IsEmpty,
        bool flag => !flag,
        System.Enum e => Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture) == 0,
        IMessage => false,
        _ => NumericRuleCompiler.IsZero(value),
    };

    private void Report(string path, string rule, string requirement, MessageDescriptor owner) =>
        Violations.Add(new RuleViolation(path, rule, requirement, owner.FullName));
}
