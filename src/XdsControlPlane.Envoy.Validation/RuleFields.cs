using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>Reads the fields of a protoc-gen-validate rules message (<c>validate.StringRules</c> …) generically.</summary>
internal static class RuleFields
{
    /// <summary>Names of the fields set in <paramref name="rules"/>.</summary>
    public static IEnumerable<string> SetFieldNames(IMessage rules) =>
        rules.Descriptor.Fields.InDeclarationOrder().Where(field => IsSet(rules, field)).Select(field => field.Name);

    /// <summary>
    /// Every field set in <paramref name="rules"/> that is not in <paramref name="implemented"/>, as
    /// <c>kind.field</c> — rules the validator would otherwise pass silently.
    /// </summary>
    public static IReadOnlyList<string> Unimplemented(IMessage rules, IReadOnlySet<string> implemented, string kind) =>
        SetFieldNames(rules).Where(name => !implemented.Contains(name)).Select(name => $"{kind}.{name} is not implemented").ToArray();

    /// <summary>The value of a singular field, or <see langword="null"/> when the field is unset or does not exist.</summary>
    public static object? Get(IMessage rules, string name)
    {
        var field = rules.Descriptor.FindFieldByName(name);
        return field is not null && IsSet(rules, field) ? field.Accessor.GetValue(rules) : null;
    }

    /// <summary>The elements of a repeated field; empty when the field does not exist.</summary>
    public static IEnumerable<object> GetList(IMessage rules, string name) =>
        rules.Descriptor.FindFieldByName(name) is { IsRepeated: true } field
            ? ((IList)field.Accessor.GetValue(rules)).Cast<object>()
            : [];

    // validate.proto is proto2: every singular rule field tracks presence.
    private static bool IsSet(IMessage rules, FieldDescriptor field) =>
        field.IsRepeated ? ((IList)field.Accessor.GetValue(rules)).Count > 0 : !field.HasPresence || field.Accessor.HasValue(rules);
}
