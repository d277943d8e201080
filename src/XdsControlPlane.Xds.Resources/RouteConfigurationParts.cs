using Envoy.Config.Route.V3;
using Google.Protobuf;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// What a route configuration assembled from its virtual hosts' bytes (<see cref="XdsResource.CreateRouteConfiguration"/>)
/// was made of, so it can be checked one virtual host at a time without parsing the whole configuration.
/// </summary>
/// <param name="Shell">The configuration without its virtual hosts (its name). Treat as read-only: it is shared.</param>
/// <param name="VirtualHosts">Each virtual host's serialization, in order: the same instances while a host is unchanged.</param>
public sealed record RouteConfigurationParts(RouteConfiguration Shell, IReadOnlyList<ByteString> VirtualHosts);
