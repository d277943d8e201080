using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Model;

/// <summary>
/// Why System.Text.Json could not read a document into the model, in the user's words (<c>unknown field 'weigth'</c>,
/// <c>expected an integer</c>): found from the exception's <see cref="JsonException.Path"/>, walked through the
/// document and the model's JSON contract, never from the English text of its message.
/// </summary>
internal static partial class JsonErrorReason
{
    /// <summary>The reason <paramref name="error"/> gives for reading <paramref name="root"/> as <paramref name="type"/> with <paramref name="options"/>.</summary>
    public static string Of(JsonException error, JsonNode root, Type type, JsonSerializerOptions options)
    {
        JsonNode? node = root;
        var contract = options.GetTypeInfo(type);
        foreach (Match step in PathStep().Matches(error.Path ?? "$"))
        {
            var index = step.Groups["index"];
            var name = step.Groups["name"].Success ? step.Groups["name"].Value : step.Groups["quoted"].Value;
            node = index.Success
                ? node is JsonArray array && int.TryParse(index.ValueSpan, System.Globalization.CultureInfo.InvariantCulture, out var i) && i < array.Count ? array[i] : null
                : (node as JsonObject)?[name];
            switch (contract.Kind)
            {
                case JsonTypeInfoKind.Object when !index.Success:
                    // The one member a mapping of the model rejects is one the model does not have.
                    if (contract.Properties.FirstOrDefault(p => p.Name == name) is not { } property)
                    {
                        return $"unknown field '{name}'";
                    }

                    contract = options.GetTypeInfo(property.PropertyType);
                    break;
                case JsonTypeInfoKind.Enumerable when index.Success:
                case JsonTypeInfoKind.Dictionary when !index.Success:
                    contract = options.GetTypeInfo(contract.ElementType!);
                    break;
                default:
                    return Unexplained(error);
            }
        }

        return Expected(contract, node);
    }

    /// <summary>What a value of <paramref name="contract"/>'s type must be, given that <paramref name="value"/> could not be read as one.</summary>
    private static string Expected(JsonTypeInfo contract, JsonNode? value)
    {
        var type = Nullable.GetUnderlyingType(contract.Type) ?? contract.Type;
        if (type == typeof(int) && value is JsonValue number
            && (number.TryGetValue<long>(out _) || (number.TryGetValue<double>(out var real) && Math.Abs(real) >= int.MaxValue && Math.Floor(real) == real)))
        {
            return $"{number.ToJsonString()} is out of range (an integer from {int.MinValue} to {int.MaxValue})";
        }

        return "expected " + (type == typeof(int) || type == typeof(long) ? "an integer"
            : type == typeof(bool) ? "true or false"
            : type == typeof(string) ? "a string (quote numbers and booleans)"
            : contract.Kind switch
            {
                JsonTypeInfoKind.Dictionary => "a map of strings",
                JsonTypeInfoKind.Enumerable => "a list",
                _ => "an object",
            });
    }

    /// <summary>The exception's own message, without the location System.Text.Json appends (a position in JSON the user never wrote).</summary>
    private static string Unexplained(JsonException error)
    {
        var location = string.Create(System.Globalization.CultureInfo.InvariantCulture, $" Path: {error.Path} | LineNumber: {error.LineNumber} | BytePositionInLine: {error.BytePositionInLine}.");
        return error.Message.EndsWith(location, StringComparison.Ordinal) ? error.Message[..^location.Length] : error.Message;
    }

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>\d+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex PathStep();
}
