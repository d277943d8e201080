using Google.Protobuf.Reflection;
using Validate;
using Case = Validate.FieldRules.TypeOneofCase;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>How the validator treats one value of a field (the field itself, or one item, key or map value).</summary>
internal enum ElementShape
{
    /// <summary>A proto scalar: number, bool, string, bytes, enum.</summary>
    Scalar,

    /// <summary>A <c>google.protobuf.*Value</c> wrapper, surfaced by C# as a nullable scalar.</summary>
    Wrapper,

    /// <summary><c>google.protobuf.Duration</c>.</summary>
    Duration,

    /// <summary><c>google.protobuf.Timestamp</c>.</summary>
    Timestamp,

    /// <summary><c>google.protobuf.Any</c>: checked, then unpacked and validated when its type is known.</summary>
    Any,

    /// <summary>Any other message: validated recursively.</summary>
    Message,
}

/// <summary>Which rule kind fits which proto type.</summary>
internal static class ElementKinds
{
    private static readonly Dictionary<string, Case> WrapperCases = new(StringComparer.Ordinal)
    {
        ["google.protobuf.DoubleValue"] = Case.Double,
        ["google.protobuf.FloatValue"] = Case.Float,
        ["google.protobuf.Int64Value"] = Case.Int64,
        ["google.protobuf.UInt64Value"] = Case.Uint64,
        ["google.protobuf.Int32Value"] = Case.Int32,
        ["google.protobuf.UInt32Value"] = Case.Uint32,
        ["google.protobuf.BoolValue"] = Case.Bool,
        ["google.protobuf.StringValue"] = Case.String,
        ["google.protobuf.BytesValue"] = Case.Bytes,
    };

    public static ElementShape ShapeOf(FieldDescriptor element) => element.FieldType switch
    {
        FieldType.Message or FieldType.Group => element.MessageType.FullName switch
        {
            "google.protobuf.Duration" => ElementShape.Duration,
            "google.protobuf.Timestamp" => ElementShape.Timestamp,
            "google.protobuf.Any" => ElementShape.Any,
            var name when WrapperCases.ContainsKey(name) => ElementShape.Wrapper,
            _ => ElementShape.Message,
        },
        _ => ElementShape.Scalar,
    };

    /// <summary>The rule kind that applies to one value of <paramref name="element"/>; <see cref="Case.None"/> for plain messages.</summary>
    public static Case RuleCaseFor(FieldDescriptor element) => element.FieldType switch
    {
        FieldType.Double => Case.Double,
        FieldType.Float => Case.Float,
        FieldType.Int64 => Case.Int64,
        FieldType.UInt64 => Case.Uint64,
        FieldType.Int32 => Case.Int32,
        FieldType.Fixed64 => Case.Fixed64,
        FieldType.Fixed32 => Case.Fixed32,
        FieldType.Bool => Case.Bool,
        FieldType.String => Case.String,
        FieldType.Bytes => Case.Bytes,
        FieldType.UInt32 => Case.Uint32,
        FieldType.SFixed32 => Case.Sfixed32,
        FieldType.SFixed64 => Case.Sfixed64,
        FieldType.SInt32 => Case.Sint32,
        FieldType.SInt64 => Case.Sint64,
        FieldType.Enum => Case.Enum,
        _ => element.MessageType.FullName switch
        {
            "google.protobuf.Duration" => Case.Duration,
            "google.protobuf.Timestamp" => Case.Timestamp,
            "google.protobuf.Any" => Case.Any,
            var name => WrapperCases.GetValueOrDefault(name, Case.None),
        },
    };

    /// <summary>The proto name of a rule kind (<c>uint32</c>, <c>string</c>, <c>repeated</c> …).</summary>
    public static string NameOf(Case kind) => FieldRules.Descriptor.FindFieldByNumber((int)kind)?.Name ?? "none";

    /// <summary>A readable proto type name for messages: <c>string</c>, <c>repeated string</c>, <c>map&lt;string, Foo&gt;</c>.</summary>
    public static string Describe(FieldDescriptor field)
    {
        static string Single(FieldDescriptor f) => f.FieldType switch
        {
            FieldType.Message or FieldType.Group => f.MessageType.FullName,
            FieldType.Enum => f.EnumType.FullName,
            _ => f.FieldType.ToString().ToLowerInvariant(),
        };

        if (field.IsMap)
        {
            return $"map<{Single(field.MessageType.FindFieldByNumber(1))}, {Single(field.MessageType.FindFieldByNumber(2))}>";
        }

        return field.IsRepeated ? "repeated " + Single(field) : Single(field);
    }
}
