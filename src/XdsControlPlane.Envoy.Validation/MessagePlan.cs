using Google.Protobuf.Reflection;
using Validate;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>One field the validator has to look at: it has rules, or holds messages to descend into.</summary>
internal sealed record FieldPlan(FieldDescriptor Field, CompiledRules Rules, ElementShape Shape, ElementShape MapValueShape);

/// <summary>What validating one message type involves, computed once per type from its descriptor.</summary>
internal sealed class MessagePlan
{
    private MessagePlan(bool disabled, IReadOnlyList<OneofDescriptor> requiredOneofs, IReadOnlyList<FieldPlan> fields)
    {
        Disabled = disabled;
        RequiredOneofs = requiredOneofs;
        Fields = fields;
    }

    /// <summary><c>(validate.disabled)</c>: nothing in this message is checked.</summary>
    public bool Disabled { get; }

    /// <summary>Oneofs annotated <c>(validate.required) = true</c>.</summary>
    public IReadOnlyList<OneofDescriptor> RequiredOneofs { get; }

    /// <summary>The fields worth visiting, in declaration order.</summary>
    public IReadOnlyList<FieldPlan> Fields { get; }

    public static MessagePlan Build(MessageDescriptor descriptor, RuleCompiler compiler)
    {
        var options = descriptor.GetOptions();
        var disabled = options is not null && options.GetExtension(ValidateExtensions.Disabled);
        if (disabled)
        {
            return new MessagePlan(true, [], []);
        }

        var requiredOneofs = descriptor.Oneofs
            .Where(oneof => !oneof.IsSynthetic && oneof.GetOptions()?.GetExtension(ValidateExtensions.Required) == true)
            .ToArray();

        var fields = new List<FieldPlan>();
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            var rules = compiler.ForField(field);
            var shape = ElementKinds.ShapeOf(field.IsMap ? field.MessageType.FindFieldByNumber(1) : field);
            var valueShape = field.IsMap ? ElementKinds.ShapeOf(field.MessageType.FindFieldByNumber(2)) : shape;
            var holdsMessages = valueShape is ElementShape.Message or ElementShape.Any;
            if (!rules.IsEmpty || holdsMessages)
            {
                fields.Add(new FieldPlan(field, rules, shape, valueShape));
            }
        }

        return new MessagePlan(false, requiredOneofs, fields);
    }
}
