using System.Text.Json;
using FieldType = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Type;

namespace XdsControlPlane.Envoy.Validation.Json;

/// <summary>
/// Writes a message's serialized bytes as protobuf JSON, as Google.Protobuf's <c>JsonFormatter</c> (default values
/// left out) prints the parsed message: fields in field-number order under their JSON names; a proto3 field without
/// presence only when it is not its default; messages, oneof members and proto3 <c>optional</c> fields whenever set;
/// unknown fields left out; maps as objects in the order their entries were written; well-known types in their own
/// form (<see cref="WellKnownJson"/>). What it cannot print the same way — bytes no C# serializer writes (a singular
/// field twice, two members of one oneof, a mismatched wire type, groups), proto2, an <c>Any</c> of a type the schema
/// lacks — throws <see cref="WireJsonUnsupportedException"/>.
/// </summary>
internal sealed class MessageJsonWriter(Utf8JsonWriter json, WireSchema schema)
{
    /// <summary>Protobuf's own default nesting limit.</summary>
    private const int MaxDepth = 100;

    private int _depth;

    /// <summary>The JSON being written.</summary>
    public Utf8JsonWriter Json => json;

    /// <summary>The schema messages and enums are looked up in.</summary>
    public WireSchema Schema => schema;

    /// <summary>The JSON value of a message of <paramref name="type"/>: its well-known form, or an object of its fields.</summary>
    public void WriteMessage(WireMessage type, ReadOnlySpan<byte> bytes)
    {
        if (++_depth > MaxDepth)
        {
            throw new WireJsonUnsupportedException($"messages nested deeper than {MaxDepth}");
        }

        if (type.IsWellKnownType)
        {
            WellKnownJson.Write(this, type, bytes);
        }
        else
        {
            json.WriteStartObject();
            WriteFields(type, bytes);
            json.WriteEndObject();
        }

        _depth--;
    }

    /// <summary>The message type named <paramref name="fullName"/>.</summary>
    public WireMessage MessageType(string fullName) =>
        schema.FindMessage(fullName) ?? throw new WireJsonUnsupportedException($"no message type {fullName}");

    /// <summary>The fields of a message of <paramref name="type"/> as properties of the object being written.</summary>
    public void WriteFields(WireMessage type, ReadOnlySpan<byte> bytes)
    {
        if (!type.IsProto3)
        {
            throw new WireJsonUnsupportedException($"{type.FullName} is not proto3");
        }

        var entries = WireReader.Entries(bytes);
        if (!IsOrdered(entries))
        {
            // Field-number order, each field's occurrences in the order written (a stable sort).
            entries = [.. entries.OrderBy(e => e.Number)];
        }

        ulong oneofsSeen = 0;
        for (var start = 0; start < entries.Count;)
        {
            var end = start + 1;
            while (end < entries.Count && entries[end].Number == entries[start].Number)
            {
                end++;
            }

            if (type.Field(entries[start].Number) is { } field)
            {
                if (field.OneofIndex >= 0)
                {
                    var bit = field.OneofIndex < 64 ? 1UL << field.OneofIndex : throw new WireJsonUnsupportedException($"{type.FullName} has over 64 oneofs");
                    if ((oneofsSeen & bit) != 0)
                    {
                        throw new WireJsonUnsupportedException($"{type.FullName}: two members of one oneof");
                    }

                    oneofsSeen |= bit;
                }

                WriteField(field, entries.GetRange(start, end - start), bytes);
            }

            start = end;
        }
    }

    private void WriteField(WireField field, List<WireEntry> occurrences, ReadOnlySpan<byte> bytes)
    {
        if (field.IsRepeated)
        {
            var elementType = field.Type == FieldType.Message ? MessageType(field.TypeName) : null;
            if (elementType is { IsMapEntry: true })
            {
                WriteMap(field, elementType, occurrences, bytes);
            }
            else if (HasElements(field, occurrences))
            {
                json.WritePropertyName(field.JsonName);
                WriteList(field, elementType, occurrences, bytes);
            }

            return;
        }

        if (occurrences.Count > 1)
        {
            throw new WireJsonUnsupportedException($"field {field.JsonName} occurs {occurrences.Count} times");
        }

        var entry = Expect(field, occurrences[0], ScalarJson.WireTypeOf(field.Type));
        if (!field.HasPresence && ScalarJson.IsDefault(field.Type, entry.Value, entry.Payload(bytes)))
        {
            return;
        }

        json.WritePropertyName(field.JsonName);
        WriteSingle(field, entry, bytes);
    }

    /// <summary>One value of <paramref name="field"/>'s type: a message, or a scalar.</summary>
    public void WriteSingle(WireField field, WireEntry entry, ReadOnlySpan<byte> bytes)
    {
        if (field.Type == FieldType.Message)
        {
            WriteMessage(MessageType(field.TypeName), entry.Payload(bytes));
        }
        else
        {
            ScalarJson.Write(json, field.Type, EnumType(field), entry.Value, entry.Payload(bytes));
        }
    }

    /// <summary>The enum type of an enum field (null for other fields).</summary>
    public WireEnum? EnumType(WireField field) => field.Type != FieldType.Enum ? null
        : schema.FindEnum(field.TypeName) ?? throw new WireJsonUnsupportedException($"no enum type {field.TypeName}");

    private void WriteList(WireField field, WireMessage? elementType, List<WireEntry> occurrences, ReadOnlySpan<byte> bytes)
    {
        json.WriteStartArray();
        foreach (var occurrence in occurrences)
        {
            if (elementType is not null)
            {
                WriteMessage(elementType, Expect(field, occurrence, WireType.LengthDelimited).Payload(bytes));
            }
            else if (occurrence.WireType == WireType.LengthDelimited && ScalarJson.IsPackable(field.Type))
            {
                var packed = occurrence.Payload(bytes);
                var wireType = ScalarJson.WireTypeOf(field.Type);
                for (var position = 0; position < packed.Length;)
                {
                    var value = wireType == WireType.Varint ? WireReader.ReadVarint(packed, ref position)
                        : WireReader.ReadFixed(packed, ref position, wireType == WireType.Fixed64 ? 8 : 4);
                    ScalarJson.Write(json, field.Type, EnumType(field), value, default);
                }
            }
            else
            {
                var entry = Expect(field, occurrence, ScalarJson.WireTypeOf(field.Type));
                ScalarJson.Write(json, field.Type, EnumType(field), entry.Value, entry.Payload(bytes));
            }
        }

        json.WriteEndArray();
    }

    private void WriteMap(WireField field, WireMessage entryType, List<WireEntry> occurrences, ReadOnlySpan<byte> bytes)
    {
        var keyField = entryType.Field(1) ?? throw new WireJsonUnsupportedException($"{entryType.FullName} has no key");
        var valueField = entryType.Field(2) ?? throw new WireJsonUnsupportedException($"{entryType.FullName} has no value");
        json.WritePropertyName(field.JsonName);
        json.WriteStartObject();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var occurrence in occurrences)
        {
            var entryBytes = Expect(field, occurrence, WireType.LengthDelimited).Payload(bytes);
            WireEntry? key = null;
            WireEntry? value = null;
            foreach (var part in WireReader.Entries(entryBytes))
            {
                if (part.Number == 1)
                {
                    key = Expect(keyField, part, ScalarJson.WireTypeOf(keyField.Type));
                }
                else if (part.Number == 2)
                {
                    value = Expect(valueField, part, ScalarJson.WireTypeOf(valueField.Type));
                }
            }

            var name = key is { } k ? ScalarJson.MapKey(keyField.Type, k.Value, k.Payload(entryBytes)) : ScalarJson.MapKey(keyField.Type, 0, default);
            if (!keys.Add(name))
            {
                throw new WireJsonUnsupportedException($"map {field.JsonName} has the key {name} twice");
            }

            json.WritePropertyName(name);
            if (value is { } v)
            {
                WriteSingle(valueField, v, entryBytes);
            }
            else if (valueField.Type == FieldType.Message)
            {
                throw new WireJsonUnsupportedException($"map {field.JsonName}: an entry without a value");
            }
            else
            {
                ScalarJson.Write(json, valueField.Type, EnumType(valueField), 0, default);
            }
        }

        json.WriteEndObject();
    }

    private static bool HasElements(WireField field, List<WireEntry> occurrences) =>
        !ScalarJson.IsPackable(field.Type) || occurrences.Exists(o => o.WireType != WireType.LengthDelimited || o.Length > 0);

    private static WireEntry Expect(WireField field, WireEntry entry, WireType wireType) => entry.WireType == wireType ? entry
        : throw new WireJsonUnsupportedException($"field {field.JsonName} written as {entry.WireType}, not {wireType}");

    private static bool IsOrdered(List<WireEntry> entries)
    {
        for (var i = 1; i < entries.Count; i++)
        {
            if (entries[i].Number < entries[i - 1].Number)
            {
                return false;
            }
        }

        return true;
    }
}
