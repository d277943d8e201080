using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace XdsControlPlane.Testing;

/// <summary>JSON text in one form, for comparing two printers' output exactly but for spacing and escaping.</summary>
internal static class JsonCanonical
{
    /// <summary>
    /// <paramref name="json"/> rewritten by one writer: the same tokens, property names and order, and numbers' text as
    /// written (a JSON writer copies a number's text); compact, with one escaping of strings.
    /// </summary>
    public static string Of(string json)
    {
        using var document = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            document.RootElement.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
