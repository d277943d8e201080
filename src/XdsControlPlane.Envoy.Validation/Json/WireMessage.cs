using System.Collections.Frozen;
using Google.Protobuf.Reflection;
using FieldType = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Type;

namespace XdsControlPlane.Envoy.Validation.Json;

/// <summary>One message type of a <see cref="WireSchema"/>: what printing it as protobuf JSON needs to know.</summary>
/// <param name="FullName">The full name, e.g. <c>envoy.config.cluster.v3.Cluster</c>.</param>
/// <param name="IsProto3">Declared in a proto3 file (field presence as proto3 has it).</param>
/// <param name="IsWellKnownType">One of <c>google/protobuf</c>'s well-known types, which have a JSON form of their own.</param>
/// <param name="IsMapEntry">The entry type protoc makes for a <c>map&lt;K, V&gt;</c> field (key 1, value 2).</param>
/// <param name="Fields">The fields, in declaration order.</param>
internal sealed record WireMessage(string FullName, bool IsProto3, bool IsWellKnownType, bool IsMapEntry, IReadOnlyList<WireField> Fields)
{
    private readonly FrozenDictionary<int, WireField> _byNumber = Fields.ToFrozenDictionary(f => f.Number);

    /// <summary>The field numbered <paramref name="number"/>, or <see langword="null"/> (an unknown field, which JSON leaves out).</summary>
    public WireField? Field(int number) => _byNumber.GetValueOrDefault(number);
}

/// <summary>One field of a <see cref="WireMessage"/>.</summary>
/// <param name="Number">The field number.</param>
/// <param name="JsonName">The name protobuf JSON prints (protoc's <c>json_name</c>).</param>
/// <param name="Type">The field's type.</param>
/// <param name="TypeName">For messages and enums, the type's full name (no leading dot); otherwise empty.</param>
/// <param name="IsRepeated">A repeated (or map) field.</param>
/// <param name="OneofIndex">The oneof it belongs to (proto3 <c>optional</c> fields have one of their own), or -1.</param>
internal sealed record WireField(int Number, string JsonName, FieldType Type, string TypeName, bool IsRepeated, int OneofIndex)
{
    /// <summary>
    /// Whether JSON prints the field exactly when it was set (a message, a oneof member, a proto3 <c>optional</c>) rather
    /// than when its value is not the default (proto3's other singular fields).
    /// </summary>
    public bool HasPresence => !IsRepeated && (Type == FieldType.Message || OneofIndex >= 0);

    /// <summary>The field as <paramref name="proto"/> describes it.</summary>
    public static WireField Of(FieldDescriptorProto proto)
    {
        ArgumentNullException.ThrowIfNull(proto);
        return new WireField(
            proto.Number,
            proto.HasJsonName ? proto.JsonName : ToJsonName(proto.Name),
            proto.Type,
            proto.TypeName.TrimStart('.'),
            proto.Label == FieldDescriptorProto.Types.Label.Repeated,
            proto.HasOneofIndex ? proto.OneofIndex : -1);
    }

    /// <summary>protoc's default JSON name: lower camel case of the proto name (as Google.Protobuf computes it).</summary>
    private static string ToJsonName(string name)
    {
        var result = new System.Text.StringBuilder(name.Length);
        var upper = false;
        foreach (var c in name)
        {
            if (c == '_')
            {
                upper = true;
            }
            else
            {
                result.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
        }

        return result.ToString();
    }
}

/// <summary>One enum type of a <see cref="WireSchema"/>: the name JSON prints for each number.</summary>
internal sealed class WireEnum
{
    private readonly FrozenDictionary<int, string> _names;

    private WireEnum(string fullName, FrozenDictionary<int, string> names) => (FullName, _names) = (fullName, names);

    /// <summary>The full name, e.g. <c>envoy.config.core.v3.RoutingPriority</c>.</summary>
    public string FullName { get; }

    /// <summary>The name of <paramref name="number"/> (the first declared, as Google.Protobuf prefers among aliases), or <see langword="null"/>.</summary>
    public string? NameOf(int number) => _names.GetValueOrDefault(number);

    /// <summary>The enum as <paramref name="proto"/> describes it.</summary>
    public static WireEnum Of(string fullName, EnumDescriptorProto proto)
    {
        ArgumentNullException.ThrowIfNull(proto);
        var names = new Dictionary<int, string>();
        foreach (var value in proto.Value)
        {
            names.TryAdd(value.Number, value.Name);
        }

        return new WireEnum(fullName, names.ToFrozenDictionary());
    }
}
