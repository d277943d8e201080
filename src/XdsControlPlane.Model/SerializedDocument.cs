using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Model;

/// <summary>
/// A manifest document written once as compact JSON (UTF-8, every character outside ASCII escaped, as
/// <see cref="JsonNode.ToJsonString"/> writes it): its length is the object's size for
/// <see cref="ManifestLimits.MaxDocumentChars"/>, its nesting is bounded by <see cref="ManifestLimits.MaxDepth"/> while it
/// is written, and the model is deserialized from these bytes (what deserializing the node did internally anyway).
/// </summary>
/// <param name="Bytes">The JSON; only valid until the next <see cref="Write"/> on the same thread (the buffer is reused).</param>
/// <param name="TooDeep">Whether mappings and sequences nest deeper than <see cref="ManifestLimits.MaxDepth"/> (then <paramref name="Bytes"/> is incomplete).</param>
internal readonly record struct SerializedDocument(ReadOnlyMemory<byte> Bytes, bool TooDeep)
{
    /// <summary>A buffer kept per thread up to this size (a typical object is a few KiB; larger ones get their own).</summary>
    private const int KeptBufferBytes = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    private static readonly JsonWriterOptions WriterOptions = new() { MaxDepth = ManifestLimits.MaxDepth };

    /// <summary>Writes <paramref name="node"/>; stops at the first mapping or sequence deeper than <see cref="ManifestLimits.MaxDepth"/> (the writer's depth bound, so no input can exhaust the stack).</summary>
    public static SerializedDocument Write(JsonNode node)
    {
        var buffer = _buffer is { Capacity: <= KeptBufferBytes } kept ? kept : (_buffer = new ArrayBufferWriter<byte>(4096));
        buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(buffer, WriterOptions);
        try
        {
            node.WriteTo(writer);
        }
        catch (InvalidOperationException) when (writer.CurrentDepth >= ManifestLimits.MaxDepth)
        {
            return new SerializedDocument(default, TooDeep: true);
        }

        writer.Flush();
        return new SerializedDocument(buffer.WrittenMemory, TooDeep: false);
    }

    /// <summary>
    /// Whether a sequence holds a null item (a bare <c>-</c> or <c>~</c>), which the model's lists cannot hold: a scan of
    /// the bytes without allocating, so only a document that has one is walked for its path.
    /// </summary>
    public bool HasNullListItem()
    {
        Span<bool> isSequence = stackalloc bool[ManifestLimits.MaxDepth + 1];
        var reader = new Utf8JsonReader(Bytes.Span, new JsonReaderOptions { MaxDepth = ManifestLimits.MaxDepth + 1 });
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray or JsonTokenType.StartObject when reader.CurrentDepth < isSequence.Length:
                    isSequence[reader.CurrentDepth] = reader.TokenType == JsonTokenType.StartArray;
                    break;
                case JsonTokenType.StartArray or JsonTokenType.StartObject:
                    return true; // deeper than any document gets; let the walk of the node decide
                case JsonTokenType.Null when reader.CurrentDepth > 0 && isSequence[reader.CurrentDepth - 1]:
                    return true;
            }
        }

        return false;
    }
}
