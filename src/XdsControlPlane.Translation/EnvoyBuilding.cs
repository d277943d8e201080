using Envoy.Config.Core.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;

namespace XdsControlPlane.Translation;

/// <summary>Small constructors shared by the resource builders.</summary>
internal static class EnvoyBuilding
{
    /// <summary>"Fetch it over the same ADS stream."</summary>
    public static ConfigSource Ads() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    public static Address SocketAddress(string host, int port) =>
        new() { SocketAddress = new global::Envoy.Config.Core.V3.SocketAddress { Address = host, PortValue = (uint)port } };

    public static Duration Duration(TimeSpan value) => Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(value);

    /// <summary><paramref name="message"/> packed into <c>Any</c> by type URL, without building its descriptors (<see cref="TypedConfigs"/>).</summary>
    public static Any Typed(IMessage message) => TypedConfigs.Pack(message);

    /// <summary>An HTTP connection manager that loads routes <paramref name="routeConfigName"/> over ADS and runs <paramref name="filters"/> (the role's chain, ending in the router).</summary>
    public static Hcm HttpConnectionManager(string statPrefix, string routeConfigName, IEnumerable<HttpFilter> filters) => new()
    {
        StatPrefix = statPrefix,
        CodecType = Hcm.Types.CodecType.Auto,
        Rds = new global::Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.Rds { ConfigSource = Ads(), RouteConfigName = routeConfigName },
        HttpFilters = { filters },
    };
}
