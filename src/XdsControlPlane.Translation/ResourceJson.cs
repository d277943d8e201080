using Google.Protobuf;
using Google.Protobuf.Reflection;
using XdsControlPlane.Envoy.Validation;
using DownstreamTlsContext = Envoy.Extensions.TransportSockets.Tls.V3.DownstreamTlsContext;
using ExtAuthz = Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthz;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpInspector = Envoy.Extensions.Filters.Listener.HttpInspector.V3.HttpInspector;
using LocalRateLimit = Envoy.Extensions.Filters.Http.LocalRatelimit.V3.LocalRateLimit;
using OriginalDst = Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace XdsControlPlane.Translation;

/// <summary>
/// Protobuf JSON of the resources translation makes, as <see cref="EnvoyTypeCatalog.JsonFormatter"/> prints them but
/// with a type registry of only the proto files of the types translation packs into <c>Any</c> (and of the resource
/// types, with everything they import). The catalog's registry builds the descriptors of every Envoy proto file, with
/// a reflection accessor per field — for <c>sandboxctl render</c> of a small example that was about a sixth of its run,
/// spent on files nothing printed needs. A resource holding an <c>Any</c> of another type is printed with the catalog's
/// formatter, so the text never depends on this list; only its cost does.
/// </summary>
internal static class ResourceJson
{
    private static readonly Lazy<JsonFormatter> LazyPacked = new(() =>
        new JsonFormatter(JsonFormatter.Settings.Default.WithTypeRegistry(TypeRegistry.FromMessages(PackedTypes())).WithFormatDefaultValues(false)));

    /// <summary>The formatter over the packed types alone (throws <see cref="InvalidOperationException"/> on an <c>Any</c> of another type).</summary>
    internal static JsonFormatter Packed => LazyPacked.Value;

    /// <summary>The protobuf JSON of <paramref name="message"/>.</summary>
    public static string Format(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            return Packed.Format(message);
        }
        catch (InvalidOperationException)
        {
            // An Any whose type is not in the packed registry (or a message the catalog cannot print either: then it throws again).
            return EnvoyTypeCatalog.JsonFormatter.Format(message);
        }
    }

    /// <summary>
    /// The types translation packs into <c>Any</c> (listener and HTTP filters, upstream protocol options) and those
    /// whose configs it reads back (ext_authz), beside the distributed resource types. Their proto files and imports
    /// make the registry (<see cref="TypeRegistry.FromMessages(MessageDescriptor[])"/>).
    /// </summary>
    private static MessageDescriptor[] PackedTypes() =>
    [
        .. XdsResourceTypes.All.Select(type => type.Descriptor),
        Hcm.Descriptor,
        Router.Descriptor,
        TcpProxy.Descriptor,
        OriginalDst.Descriptor,
        HttpInspector.Descriptor,
        UpstreamHttpOptions.Descriptor,
        ExtAuthz.Descriptor,
        LocalRateLimit.Descriptor,
        DownstreamTlsContext.Descriptor,
    ];
}
