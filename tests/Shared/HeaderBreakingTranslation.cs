using Envoy.Config.Route.V3;
using Google.Protobuf;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Testing;

/// <summary>
/// The real translation with one flaw put in on purpose, for tests of the blast radius: every added request header
/// whose value is <see cref="Marker"/> gets a line feed in the middle, which Envoy's HTTP_HEADER_VALUE rule refuses. The
/// model refuses such a value in a RouteGroup (so no manifest can do this any more); this stands in for a translator
/// bug, so that a test can break one virtual host by editing a RouteGroup to set <see cref="Marker"/>.
/// </summary>
internal sealed class HeaderBreakingTranslation(IRoutingTranslator inner) : IRoutingTranslator
{
    /// <summary>The added header value the translation breaks.</summary>
    public const string Marker = "break-me";

    /// <summary>What the marker becomes in the route configuration.</summary>
    public const string Broken = "break\nme";

    /// <inheritdoc />
    public TranslationResult Translate(RoutingInputs inputs)
    {
        var result = inner.Translate(inputs);
        return result with
        {
            Groups = result.Groups.ToDictionary(g => g.Key, g => (IReadOnlyList<XdsControlPlane.Xds.Resources.XdsResource>)[.. g.Value.Select(Break)]),
        };
    }

    private static XdsControlPlane.Xds.Resources.XdsResource Break(XdsControlPlane.Xds.Resources.XdsResource resource)
    {
        if (resource.TypeUrl != XdsControlPlane.Xds.Resources.TypeUrls.RouteConfiguration || resource.Parts is not { } parts)
        {
            return resource;
        }

        // Host by host, as the translation assembles it, so the server can hold out the one broken host.
        var changed = false;
        var hosts = new List<ByteString>(parts.VirtualHosts.Count);
        foreach (var bytes in parts.VirtualHosts)
        {
            var host = VirtualHost.Parser.ParseFrom(bytes);
            var marked = host.Routes.SelectMany(r => r.RequestHeadersToAdd).Where(h => h.Header.Value == Marker).ToArray();
            foreach (var header in marked)
            {
                header.Header.Value = Broken;
            }

            changed |= marked.Length > 0;
            hosts.Add(marked.Length > 0 ? host.ToByteString() : bytes);
        }

        return changed ? XdsControlPlane.Xds.Resources.XdsResource.CreateRouteConfiguration(resource.Name, hosts, null, resource.References) : resource;
    }
}
