using System.Globalization;
using System.Text;
using System.Text.Json;
using FieldType = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Type;

namespace XdsControlPlane.Envoy.Validation.Json;

/// <summary>
/// Scalar field values as protobuf JSON prints them (Google.Protobuf's <c>JsonFormatter.WriteValue</c>): 32-bit
/// integers as numbers, 64-bit ones as strings, floating point in round-trip form (NaN and the infinities as strings),
/// bytes in base64, enums by name (by number when the number has none).
/// </summary>
internal static class ScalarJson
{
    /// <summary>The wire type a single (unpacked) value of <paramref name="type"/> is written with.</summary>
    public static WireType WireTypeOf(FieldType type) => type switch
    {
        FieldType.Double or FieldType.Fixed64 or FieldType.Sfixed64 => WireType.Fixed64,
        FieldType.Float or FieldType.Fixed32 or FieldType.Sfixed32 => WireType.Fixed32,
        FieldType.String or FieldType.Bytes or FieldType.Message => WireType.LengthDelimited,
        FieldType.Group => WireType.StartGroup,
        _ => WireType.Varint,
    };

    /// <summary>True for the types a repeated field may pack (every scalar but strings and bytes).</summary>
    public static bool IsPackable(FieldType type) => WireTypeOf(type) is WireType.Varint or WireType.Fixed32 or WireType.Fixed64;

    /// <summary>
    /// True when a proto3 field without presence holds its default (0, false, empty, the enum's zero), which JSON leaves
    /// out. <paramref name="raw"/> is the varint or fixed-width value; <paramref name="payload"/> a string's or bytes' content.
    /// </summary>
    public static bool IsDefault(FieldType type, ulong raw, ReadOnlySpan<byte> payload) => type switch
    {
        FieldType.String or FieldType.Bytes => payload.IsEmpty,
        FieldType.Double => BitConverter.Int64BitsToDouble((long)raw) == 0.0,
        FieldType.Float => BitConverter.Int32BitsToSingle((int)raw) == 0f,
        FieldType.Int32 or FieldType.Uint32 or FieldType.Enum or FieldType.Fixed32 or FieldType.Sfixed32 or FieldType.Sint32 => (uint)raw == 0,
        _ => raw == 0,
    };

    /// <summary>Writes one value of <paramref name="type"/> (<paramref name="enumType"/> names enum values; null for other types).</summary>
    public static void Write(Utf8JsonWriter json, FieldType type, WireEnum? enumType, ulong raw, ReadOnlySpan<byte> payload)
    {
        switch (type)
        {
            case FieldType.Double:
                WriteFloating(json, BitConverter.Int64BitsToDouble((long)raw).ToString("r", CultureInfo.InvariantCulture));
                break;
            case FieldType.Float:
                WriteFloating(json, BitConverter.Int32BitsToSingle((int)raw).ToString("r", CultureInfo.InvariantCulture));
                break;
            case FieldType.Int32 or FieldType.Sfixed32:
                json.WriteNumberValue((int)raw);
                break;
            case FieldType.Uint32 or FieldType.Fixed32:
                json.WriteNumberValue((uint)raw);
                break;
            case FieldType.Sint32:
                json.WriteNumberValue((int)((uint)raw >> 1) ^ -(int)(raw & 1));
                break;
            case FieldType.Int64 or FieldType.Sfixed64:
                json.WriteStringValue(((long)raw).ToString("d", CultureInfo.InvariantCulture));
                break;
            case FieldType.Uint64 or FieldType.Fixed64:
                json.WriteStringValue(raw.ToString("d", CultureInfo.InvariantCulture));
                break;
            case FieldType.Sint64:
                json.WriteStringValue(((long)(raw >> 1) ^ -(long)(raw & 1)).ToString("d", CultureInfo.InvariantCulture));
                break;
            case FieldType.Bool:
                json.WriteBooleanValue(raw != 0);
                break;
            case FieldType.String:
                json.WriteStringValue(Encoding.UTF8.GetString(payload));
                break;
            case FieldType.Bytes:
                json.WriteStringValue(Convert.ToBase64String(payload));
                break;
            case FieldType.Enum:
                WriteEnum(json, enumType, (int)raw);
                break;
            default:
                throw new WireJsonUnsupportedException($"a {type} is not a scalar");
        }
    }

    /// <summary>A map key as JSON's object property name: strings as they are, booleans and integers as text.</summary>
    public static string MapKey(FieldType type, ulong raw, ReadOnlySpan<byte> payload) => type switch
    {
        FieldType.String => Encoding.UTF8.GetString(payload),
        FieldType.Bool => raw != 0 ? "true" : "false",
        FieldType.Int32 or FieldType.Sfixed32 => ((int)raw).ToString("d", CultureInfo.InvariantCulture),
        FieldType.Uint32 or FieldType.Fixed32 => ((uint)raw).ToString("d", CultureInfo.InvariantCulture),
        FieldType.Sint32 => ((int)((uint)raw >> 1) ^ -(int)(raw & 1)).ToString("d", CultureInfo.InvariantCulture),
        FieldType.Int64 or FieldType.Sfixed64 => ((long)raw).ToString("d", CultureInfo.InvariantCulture),
        FieldType.Uint64 or FieldType.Fixed64 => raw.ToString("d", CultureInfo.InvariantCulture),
        FieldType.Sint64 => ((long)(raw >> 1) ^ -(long)(raw & 1)).ToString("d", CultureInfo.InvariantCulture),
        _ => throw new WireJsonUnsupportedException($"a {type} cannot be a map key"),
    };

    /// <summary>A double or float in its round-trip text: a number, or a string for NaN and the infinities.</summary>
    public static void WriteFloating(Utf8JsonWriter json, string text)
    {
        if (text is "NaN" or "Infinity" or "-Infinity")
        {
            json.WriteStringValue(text);
        }
        else
        {
            json.WriteRawValue(text, skipInputValidation: true);
        }
    }

    private static void WriteEnum(Utf8JsonWriter json, WireEnum? enumType, int number)
    {
        if (enumType is null)
        {
            throw new WireJsonUnsupportedException("an enum field without its enum type");
        }

        // google.protobuf.NullValue is JSON's null wherever it appears (JsonFormatter checks the value's type first).
        if (enumType.FullName == "google.protobuf.NullValue")
        {
            json.WriteNullValue();
        }
        else if (enumType.NameOf(number) is { } name)
        {
            json.WriteStringValue(name);
        }
        else
        {
            json.WriteNumberValue(number);
        }
    }
}
