using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using DownstreamTlsContext = Envoy.Extensions.TransportSockets.Tls.V3.DownstreamTlsContext;
using ExtAuthz = Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthz;
using ExtAuthzPerRoute = Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthzPerRoute;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpInspector = Envoy.Extensions.Filters.Listener.HttpInspector.V3.HttpInspector;
using LocalRateLimit = Envoy.Extensions.Filters.Http.LocalRatelimit.V3.LocalRateLimit;
using OriginalDst = Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;
using UpstreamTlsContext = Envoy.Extensions.TransportSockets.Tls.V3.UpstreamTlsContext;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// Packs and unpacks the typed configs resources carry in <c>Any</c> (listener and HTTP filters and their per-route
/// configs, TLS transport sockets, upstream protocol options) by a table of their type URLs. Google.Protobuf's
/// <see cref="Any.Pack(IMessage)"/> and <see cref="Any.TryUnpack{T}(out T)"/> read the type's descriptor, and the first
/// read builds the descriptors of its proto file and of every file that imports, with a reflection accessor per field —
/// for the router filter alone 59 files, most of <c>sandboxctl render</c>'s run. The bytes are the same; a type not in
/// the table is packed and unpacked by Google.Protobuf, so the table decides what it costs, never what comes out
/// (a test checks every entry against the descriptor).
/// </summary>
public static class TypedConfigs
{
    private static readonly FrozenDictionary<System.Type, string> TypeUrlsByClrType = new Dictionary<System.Type, string>
    {
        [typeof(Hcm)] = TypeUrls.Prefix + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        [typeof(TcpProxy)] = TypeUrls.Prefix + "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        [typeof(Router)] = TypeUrls.Prefix + "envoy.extensions.filters.http.router.v3.Router",
        [typeof(ExtAuthz)] = TypeUrls.Prefix + "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
        [typeof(ExtAuthzPerRoute)] = TypeUrls.Prefix + "envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute",
        [typeof(LocalRateLimit)] = TypeUrls.Prefix + "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        [typeof(OriginalDst)] = TypeUrls.Prefix + "envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
        [typeof(HttpInspector)] = TypeUrls.Prefix + "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
        [typeof(DownstreamTlsContext)] = TypeUrls.Prefix + "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        [typeof(UpstreamTlsContext)] = TypeUrls.Prefix + "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        [typeof(UpstreamHttpOptions)] = TypeUrls.Prefix + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    }.ToFrozenDictionary();

    /// <summary>The types the table holds and their type URLs (for tests).</summary>
    public static IReadOnlyDictionary<System.Type, string> Known => TypeUrlsByClrType;

    /// <summary><paramref name="message"/> packed into <c>Any</c>, exactly as <see cref="Any.Pack(IMessage)"/> packs it.</summary>
    public static Any Pack(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return TypeUrlsByClrType.TryGetValue(message.GetType(), out var typeUrl)
            ? new Any { TypeUrl = typeUrl, Value = message.ToByteString() }
            : Any.Pack(message);
    }

    /// <summary>
    /// The message <paramref name="any"/> holds if it is a <typeparamref name="T"/> (its type URL names the type, whatever
    /// its prefix), as <see cref="Any.TryUnpack{T}(out T)"/> reads it.
    /// </summary>
    public static bool TryUnpack<T>(Any any, [NotNullWhen(true)] out T? message)
        where T : class, IMessage<T>, new()
    {
        ArgumentNullException.ThrowIfNull(any);
        if (!TypeUrlsByClrType.TryGetValue(typeof(T), out var typeUrl))
        {
            return any.TryUnpack(out message);
        }

        if (!TypeName(any.TypeUrl).SequenceEqual(TypeName(typeUrl)))
        {
            message = null;
            return false;
        }

        message = new T();
        message.MergeFrom(any.Value);
        return true;
    }

    /// <summary>What follows the last '/' (empty without one), as Google.Protobuf's <see cref="Any.GetTypeName(string)"/>.</summary>
    private static ReadOnlySpan<char> TypeName(string typeUrl)
    {
        var slash = typeUrl.LastIndexOf('/');
        return slash < 0 ? [] : typeUrl.AsSpan(slash + 1);
    }
}
