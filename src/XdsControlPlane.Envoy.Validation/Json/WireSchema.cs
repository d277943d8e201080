using System.Collections.Concurrent;
using Google.Protobuf.Reflection;

namespace XdsControlPlane.Envoy.Validation.Json;

/// <summary>
/// The messages and enums of the Envoy API as protoc described them: the <c>FileDescriptorSet</c> the Envoy API project
/// writes at build time and embeds (<c>envoy-descriptors.pb</c>, every compiled proto file with its imports), read as
/// plain messages. Unlike Google.Protobuf's <see cref="FileDescriptor"/>s it initialises no message class and makes no
/// reflection accessor, so reading it costs a parse of about 250 KB, and a message's fields are looked at only when one
/// is printed. Thread-safe.
/// </summary>
internal sealed class WireSchema
{
    /// <summary>The name the Envoy API assembly embeds the descriptor set under.</summary>
    internal const string ResourceName = "envoy-descriptors.pb";

    /// <summary>The proto files (package <c>google.protobuf</c>) whose messages have a special JSON form, as Google.Protobuf lists them.</summary>
    private static readonly HashSet<string> WellKnownTypeFiles = new(StringComparer.Ordinal)
    {
        "google/protobuf/any.proto", "google/protobuf/api.proto", "google/protobuf/duration.proto", "google/protobuf/empty.proto",
        "google/protobuf/wrappers.proto", "google/protobuf/timestamp.proto", "google/protobuf/field_mask.proto",
        "google/protobuf/source_context.proto", "google/protobuf/struct.proto", "google/protobuf/type.proto",
    };

    private static readonly Lazy<WireSchema> LazyEnvoy = new(ReadEnvoy);

    private readonly Dictionary<string, (DescriptorProto Message, FileDescriptorProto File)> _messages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EnumDescriptorProto> _enumProtos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WireMessage> _built = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WireEnum> _enums = new(StringComparer.Ordinal);

    /// <summary>Indexes the messages and enums of <paramref name="files"/> by full name (<c>package.Outer.Inner</c>).</summary>
    public WireSchema(FileDescriptorSet files)
    {
        ArgumentNullException.ThrowIfNull(files);
        foreach (var file in files.File)
        {
            var prefix = file.Package.Length == 0 ? "" : file.Package + ".";
            Index(file, prefix, file.MessageType, file.EnumType);
        }
    }

    /// <summary>The Envoy API's schema (read once, on first use).</summary>
    public static WireSchema Envoy => LazyEnvoy.Value;

    /// <summary>The message named <paramref name="fullName"/> (no leading dot), or <see langword="null"/>.</summary>
    public WireMessage? FindMessage(string fullName) =>
        _built.TryGetValue(fullName, out var built) ? built
        : _messages.TryGetValue(fullName, out var proto) ? _built.GetOrAdd(fullName, name => Build(name, proto.Message, proto.File))
        : null;

    /// <summary>The enum named <paramref name="fullName"/> (no leading dot), or <see langword="null"/>.</summary>
    public WireEnum? FindEnum(string fullName) =>
        _enums.TryGetValue(fullName, out var built) ? built
        : _enumProtos.TryGetValue(fullName, out var proto) ? _enums.GetOrAdd(fullName, name => WireEnum.Of(name, proto))
        : null;

    private void Index(FileDescriptorProto file, string prefix, IEnumerable<DescriptorProto> messages, IEnumerable<EnumDescriptorProto> enums)
    {
        foreach (var item in enums)
        {
            _enumProtos[prefix + item.Name] = item;
        }

        foreach (var message in messages)
        {
            var name = prefix + message.Name;
            _messages[name] = (message, file);
            Index(file, name + ".", message.NestedType, message.EnumType);
        }
    }

    private static WireMessage Build(string fullName, DescriptorProto message, FileDescriptorProto file) => new(
        fullName,
        file.Syntax == "proto3",
        file.Package == "google.protobuf" && WellKnownTypeFiles.Contains(file.Name),
        message.Options?.MapEntry ?? false,
        message.Field.Select(WireField.Of).ToArray());

    private static WireSchema ReadEnvoy()
    {
        var assembly = typeof(global::Envoy.Config.Cluster.V3.Cluster).Assembly;
        using var stream = assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{assembly.GetName().Name} embeds no {ResourceName}: the Envoy API project writes it at build time.");
        return new WireSchema(FileDescriptorSet.Parser.ParseFrom(stream));
    }
}
