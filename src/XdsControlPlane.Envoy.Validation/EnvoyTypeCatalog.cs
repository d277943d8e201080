using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// Every proto file compiled into the Envoy API assembly, with the <see cref="TypeRegistry"/> and JSON settings
/// needed to print and parse messages that carry <c>google.protobuf.Any</c> values.
/// </summary>
public static class EnvoyTypeCatalog
{
    private static readonly Lazy<IReadOnlyList<FileDescriptor>> LazyFiles = new(LoadFiles);
    private static readonly Lazy<TypeRegistry> LazyRegistry = new(() => TypeRegistry.FromFiles(LazyFiles.Value));

    /// <summary>The compiled proto files (Envoy, xDS, UDPA, googleapis, validate), ordered by name.</summary>
    public static IReadOnlyList<FileDescriptor> Files => LazyFiles.Value;

    /// <summary>A registry of every message type in <see cref="Files"/> and their dependencies.</summary>
    public static TypeRegistry Registry => LazyRegistry.Value;

    /// <summary>Protobuf JSON printer that can expand <c>Any</c> values of Envoy types.</summary>
    public static JsonFormatter JsonFormatter { get; } =
        new(JsonFormatter.Settings.Default.WithTypeRegistry(Registry).WithFormatDefaultValues(false));

    /// <summary>Protobuf JSON parser that can read <c>Any</c> values of Envoy types.</summary>
    public static JsonParser JsonParser { get; } = new(JsonParser.Settings.Default.WithTypeRegistry(Registry));

    private static FileDescriptor[] LoadFiles()
    {
        var assembly = typeof(global::Envoy.Config.Cluster.V3.Cluster).Assembly;
        return assembly.GetTypes()
            .Where(type => type.IsAbstract && type.IsSealed && type.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(type => type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
            .OfType<FileDescriptor>()
            .OrderBy(file => file.Name, StringComparer.Ordinal)
            .ToArray();
    }
}
