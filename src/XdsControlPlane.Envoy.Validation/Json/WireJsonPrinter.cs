using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace XdsControlPlane.Envoy.Validation.Json;

/// <summary>
/// Protobuf JSON of Envoy API messages straight from their serialized bytes, with field names and types from the
/// descriptors protoc wrote at build time (<see cref="WireSchema"/>) rather than Google.Protobuf's reflection: no
/// file descriptors built, no message class initialised, no field accessor compiled — what made printing a handful of
/// resources cost more than making them. The text parses to the same JSON as <see cref="EnvoyTypeCatalog.JsonFormatter"/>
/// prints for the parsed message (same names, order, numbers and strings; spacing and escaping may differ), and where it
/// could not be the same (see <see cref="MessageJsonWriter"/>) it prints nothing, so the caller falls back to that formatter.
/// </summary>
public static class WireJsonPrinter
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The JSON of the message of type <paramref name="typeName"/> (a full name such as
    /// <c>envoy.config.cluster.v3.Cluster</c>) serialized as <paramref name="message"/>, or false when this printer
    /// would not print exactly what Google.Protobuf prints (an unknown type, bytes no C# serializer writes).
    /// </summary>
    public static bool TryFormat(string typeName, ReadOnlySpan<byte> message, [NotNullWhen(true)] out string? json) =>
        TryFormat(WireSchema.Envoy, typeName, message, out json);

    /// <summary><see cref="TryFormat(string, ReadOnlySpan{byte}, out string?)"/> for a type URL (<c>type.googleapis.com/NAME</c>).</summary>
    public static bool TryFormatTypeUrl(string typeUrl, ReadOnlySpan<byte> message, [NotNullWhen(true)] out string? json)
    {
        ArgumentNullException.ThrowIfNull(typeUrl);
        json = null;
        var slash = typeUrl.LastIndexOf('/');
        return slash >= 0 && TryFormat(typeUrl[(slash + 1)..], message, out json);
    }

    internal static bool TryFormat(WireSchema schema, string typeName, ReadOnlySpan<byte> message, [NotNullWhen(true)] out string? json)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(typeName);
        json = null;
        if (schema.FindMessage(typeName) is not { } type)
        {
            return false;
        }

        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, message.Length * 4));
        try
        {
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                new MessageJsonWriter(writer, schema).WriteMessage(type, message);
            }
        }
        catch (WireJsonUnsupportedException)
        {
            return false;
        }

        json = Encoding.UTF8.GetString(buffer.WrittenSpan);
        return true;
    }
}
