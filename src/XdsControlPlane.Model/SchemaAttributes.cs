namespace XdsControlPlane.Model;

/// <summary>The property's string value must match this regular expression (OpenAPI <c>pattern</c>).</summary>
/// <param name="pattern">An ECMA-262 / RE2-compatible pattern.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaPatternAttribute(string pattern) : Attribute
{
    /// <summary>The pattern.</summary>
    public string Pattern { get; } = pattern;
}

/// <summary>The property's integer value lies in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
/// <param name="minimum">Inclusive minimum.</param>
/// <param name="maximum">Inclusive maximum.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRangeAttribute(long minimum, long maximum) : Attribute
{
    /// <summary>Inclusive minimum.</summary>
    public long Minimum { get; } = minimum;

    /// <summary>Inclusive maximum.</summary>
    public long Maximum { get; } = maximum;
}

/// <summary>The property's value is one of these strings (OpenAPI <c>enum</c>).</summary>
/// <param name="values">The allowed values.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaEnumAttribute(params string[] values) : Attribute
{
    /// <summary>The allowed values.</summary>
    public IReadOnlyList<string> Values { get; } = values;
}

/// <summary>The property must be present (and, for strings and lists, not empty).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRequiredAttribute : Attribute
{
}

/// <summary>A list property holds between <paramref name="minimum"/> and <paramref name="maximum"/> items (bounded lists keep the API server's CEL cost estimate in budget).</summary>
/// <param name="minimum">The minimum number of items.</param>
/// <param name="maximum">The maximum number of items.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaItemsAttribute(int minimum, int maximum) : Attribute
{
    /// <summary>The minimum number of items.</summary>
    public int Minimum { get; } = minimum;

    /// <summary>The maximum number of items.</summary>
    public int Maximum { get; } = maximum;
}

/// <summary>A cross-field rule checked by the API server (<c>x-kubernetes-validations</c>, a CEL expression).</summary>
/// <param name="rule">The CEL expression over <c>self</c>.</param>
/// <param name="message">The message when it does not hold.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true)]
public sealed class SchemaRuleAttribute(string rule, string message) : Attribute
{
    /// <summary>The CEL expression.</summary>
    public string Rule { get; } = rule;

    /// <summary>The message.</summary>
    public string Message { get; } = message;
}

/// <summary>Marks a kind as a CustomResourceDefinition of <see cref="ApiVersions.Sandboxctl"/>.</summary>
/// <param name="plural">The plural resource name (<c>routegroups</c>).</param>
/// <param name="shortNames">Short names for kubectl.</param>
[AttributeUsage(AttributeTargets.Class)]
public sealed class CustomResourceAttribute(string plural, params string[] shortNames) : Attribute
{
    /// <summary>The plural resource name.</summary>
    public string Plural { get; } = plural;

    /// <summary>Short names.</summary>
    public IReadOnlyList<string> ShortNames { get; } = shortNames;
}

/// <summary>An additional printer column of <c>kubectl get</c>.</summary>
/// <param name="name">The column header.</param>
/// <param name="type">The OpenAPI type (<c>string</c>, <c>date</c>, <c>integer</c>).</param>
/// <param name="jsonPath">Where the value is, e.g. <c>.status.phase</c>.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(string name, string type, string jsonPath) : Attribute
{
    /// <summary>The column header.</summary>
    public string Name { get; } = name;

    /// <summary>The OpenAPI type.</summary>
    public string Type { get; } = type;

    /// <summary>The JSON path.</summary>
    public string JsonPath { get; } = jsonPath;
}

/// <summary>The property's string value has this OpenAPI format (<c>date-time</c>).</summary>
/// <param name="format">The format.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaFormatAttribute(string format) : Attribute
{
    /// <summary>The format.</summary>
    public string Format { get; } = format;
}

/// <summary>Size limits shared by the validator and the generated CRD schemas.</summary>
public static class ModelLimits
{
    /// <summary>Routes per RouteGroup.</summary>
    public const int MaxRoutes = 64;

    /// <summary>Destinations per route.</summary>
    public const int MaxDestinations = 16;

    /// <summary>Header conditions per route.</summary>
    public const int MaxHeaderMatches = 16;

    /// <summary>Services of other namespaces one LocalWorkload may expose to its laptop.</summary>
    public const int MaxExposedServices = 32;

    /// <summary>Preview URLs per Sandbox or LocalWorkload.</summary>
    public const int MaxPreviews = 16;
}
