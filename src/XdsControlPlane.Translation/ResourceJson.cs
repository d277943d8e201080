using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Envoy.Validation.Json;

namespace XdsControlPlane.Translation;

/// <summary>
/// Protobuf JSON of the resources translation makes, as <see cref="EnvoyTypeCatalog.JsonFormatter"/> prints them: by
/// <see cref="WireJsonPrinter"/> from the bytes each resource already holds, with the descriptors protoc wrote at build
/// time. Google.Protobuf's formatter would first build the descriptors of every proto file the resource's types come
/// from and compile a reflection accessor per field — for <c>sandboxctl render</c> of a small example most of its run.
/// Where the printer cannot print what the formatter would (it says so), the catalog's formatter prints instead, so the
/// text never depends on the printer's reach; only its cost does.
/// </summary>
internal static class ResourceJson
{
    /// <summary>The protobuf JSON of <paramref name="resource"/> (spacing and escaping aside, what the catalog's formatter prints).</summary>
    public static string Format(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return WireJsonPrinter.TryFormatTypeUrl(resource.TypeUrl, resource.Packed.Value.Span, out var json)
            ? json
            : EnvoyTypeCatalog.JsonFormatter.Format(resource.Message);
    }
}
