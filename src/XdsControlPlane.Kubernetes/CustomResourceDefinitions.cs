using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Generates the CustomResourceDefinitions of the product's kinds from the C# model: an OpenAPI v3 schema per kind
/// (types, required fields, patterns, enums, ranges, list bounds, <c>x-kubernetes-validations</c> CEL rules for
/// cross-field checks, descriptions from the XML documentation), the status subresource, printer columns and short
/// names. The committed files in <c>charts/xds-control-plane/crds/</c> are this output; a test fails when they drift.
/// </summary>
public static class CustomResourceDefinitions
{
    /// <summary>The API group.</summary>
    public const string Group = ApiVersions.Group;

    /// <summary>The served and stored version.</summary>
    public const string Version = ApiVersions.Version;

    /// <summary>The kinds that get a CRD.</summary>
    public static IReadOnlyList<Type> Kinds { get; } = [typeof(RouteGroup), typeof(Sandbox), typeof(LocalWorkload), typeof(PreviewGrant)];

    private static readonly Lazy<Dictionary<string, string>> Docs = new(LoadDocs);

    /// <summary>The CRD of <paramref name="kind"/> (a type with <see cref="CustomResourceAttribute"/>).</summary>
    public static JsonObject Generate(Type kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var resource = kind.GetCustomAttribute<CustomResourceAttribute>() ?? throw new ArgumentException($"{kind.Name} has no [CustomResource]", nameof(kind));
        var spec = kind.GetProperty("Spec")!.PropertyType;
        var status = kind.GetProperty("Status")?.PropertyType;
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["description"] = Doc(kind),
            ["required"] = new JsonArray("spec"),
            ["properties"] = new JsonObject
            {
                ["apiVersion"] = new JsonObject { ["type"] = "string" },
                ["kind"] = new JsonObject { ["type"] = "string" },
                ["metadata"] = new JsonObject { ["type"] = "object" },
                ["spec"] = Schema(spec, kind.GetProperty("Spec")!),
            },
        };
        if (status is not null)
        {
            // A kind without a status (a PreviewGrant) has no status subresource either.
            schema["properties"]!["status"] = Schema(Nullable.GetUnderlyingType(status) ?? status, kind.GetProperty("Status")!);
        }

        var columns = new JsonArray([.. kind.GetCustomAttributes<PrinterColumnAttribute>().Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["type"] = c.Type,
            ["jsonPath"] = c.JsonPath,
        })]);
        return new JsonObject
        {
            ["apiVersion"] = "apiextensions.k8s.io/v1",
            ["kind"] = "CustomResourceDefinition",
            ["metadata"] = new JsonObject { ["name"] = $"{resource.Plural}.{Group}" },
            ["spec"] = new JsonObject
            {
                ["group"] = Group,
                ["scope"] = "Namespaced",
                ["names"] = new JsonObject
                {
                    ["kind"] = kind.Name,
                    ["listKind"] = kind.Name + "List",
                    ["plural"] = resource.Plural,
                    ["singular"] = kind.Name.ToLowerInvariant(),
                    ["shortNames"] = new JsonArray([.. resource.ShortNames.Select(n => (JsonNode)n)]),
                    ["categories"] = new JsonArray("sandboxctl"),
                },
                ["versions"] = new JsonArray(new JsonObject
                {
                    ["name"] = Version,
                    ["served"] = true,
                    ["storage"] = true,
                    ["subresources"] = status is null ? new JsonObject() : new JsonObject { ["status"] = new JsonObject() },
                    ["additionalPrinterColumns"] = columns,
                    ["schema"] = new JsonObject { ["openAPIV3Schema"] = schema },
                }),
            },
        };
    }

    /// <summary>The CRD of <paramref name="kind"/> as the YAML file committed under <c>charts/xds-control-plane/crds/</c>.</summary>
    public static string Yaml(Type kind) =>
        "# Generated from the C# model (XdsControlPlane.Model) by CustomResourceDefinitions; do not edit.\n"
        + "# Regenerate: UPDATE_CRDS=1 dotnet test tests/XdsControlPlane.Kubernetes.Tests\n"
        + YamlJson.ToYaml(Generate(kind));

    /// <summary>The file name of <paramref name="kind"/>'s CRD.</summary>
    public static string FileName(Type kind) =>
        $"{Group}_{kind.GetCustomAttribute<CustomResourceAttribute>()!.Plural}.yaml";

    private static JsonObject Schema(Type type, PropertyInfo? property)
    {
        var schema = TypeSchema(type);
        if (property is not null)
        {
            Describe(schema, property);
        }

        return schema;
    }

    private static JsonObject TypeSchema(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new JsonObject { ["type"] = "string" };
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return new JsonObject { ["type"] = "integer", ["format"] = type == typeof(int) ? "int32" : "int64" };
        }

        if (type == typeof(bool))
        {
            return new JsonObject { ["type"] = "boolean" };
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            return new JsonObject { ["type"] = "object", ["additionalProperties"] = TypeSchema(type.GetGenericArguments()[1]) };
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            return new JsonObject { ["type"] = "array", ["items"] = TypeSchema(type.GetGenericArguments()[0]) };
        }

        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                     .Where(p => p.CanWrite && p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null))
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            properties[name] = Schema(property.PropertyType, property);
            if (property.GetCustomAttribute<SchemaRequiredAttribute>() is not null)
            {
                required.Add(name);
            }
        }

        var schema = new JsonObject { ["type"] = "object", ["description"] = Doc(type), ["properties"] = properties };
        if (required.Count > 0)
        {
            schema["required"] = required;
        }

        AddRules(schema, type.GetCustomAttributes<SchemaRuleAttribute>());
        return schema;
    }

    private static void Describe(JsonObject schema, PropertyInfo property)
    {
        if (Doc(property) is { } description)
        {
            schema["description"] = description;
        }

        if (property.GetCustomAttribute<SchemaPatternAttribute>() is { } pattern)
        {
            schema["pattern"] = pattern.Pattern;
        }

        if (property.GetCustomAttribute<SchemaFormatAttribute>() is { } format)
        {
            schema["format"] = format.Format;
        }

        if (property.GetCustomAttribute<SchemaEnumAttribute>() is { } values)
        {
            schema["enum"] = new JsonArray([.. values.Values.Select(v => (JsonNode)v)]);
        }

        if (property.GetCustomAttribute<SchemaRangeAttribute>() is { } range)
        {
            schema["minimum"] = range.Minimum;
            schema["maximum"] = range.Maximum;
        }

        if (property.GetCustomAttribute<SchemaItemsAttribute>() is { } items)
        {
            schema["minItems"] = items.Minimum;
            schema["maxItems"] = items.Maximum;
        }

        if (property.GetCustomAttribute<SchemaRequiredAttribute>() is not null && property.PropertyType == typeof(string))
        {
            schema["minLength"] = 1;
        }

        AddRules(schema, property.GetCustomAttributes<SchemaRuleAttribute>());
    }

    private static void AddRules(JsonObject schema, IEnumerable<SchemaRuleAttribute> rules)
    {
        var validations = new JsonArray([.. rules.Select(r => (JsonNode)new JsonObject { ["rule"] = r.Rule, ["message"] = r.Message })]);
        if (validations.Count > 0)
        {
            schema["x-kubernetes-validations"] = validations;
        }
    }

    private static string? Doc(MemberInfo member)
    {
        var key = member switch
        {
            Type type => "T:" + type.FullName,
            PropertyInfo property => $"P:{property.DeclaringType!.FullName}.{property.Name}",
            _ => null,
        };
        return key is not null && Docs.Value.TryGetValue(key, out var text) ? text : null;
    }

    /// <summary>Summaries from the model's XML documentation file, with tags reduced to their text.</summary>
    private static Dictionary<string, string> LoadDocs()
    {
        var path = Path.ChangeExtension(typeof(RouteGroup).Assembly.Location, ".xml");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The model's XML documentation ({path}) is needed for CRD descriptions.", path);
        }

        return XDocument.Load(path).Descendants("member")
            .Where(m => m.Element("summary") is not null)
            .ToDictionary(
                m => (string)m.Attribute("name")!,
                m => string.Join(" ", string.Concat(m.Element("summary")!.Nodes().Select(Text)).Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)),
                StringComparer.Ordinal);

        static string Text(XNode node) => node switch
        {
            XText text => text.Value,
            XElement { Name.LocalName: "see" or "seealso" } see => (string?)see.Attribute("langword") ?? ShortName((string?)see.Attribute("cref")),
            XElement element => element.Value,
            _ => string.Empty,
        };

        static string ShortName(string? cref) => cref is null ? string.Empty : cref[(cref.LastIndexOf('.') + 1)..];
    }
}
