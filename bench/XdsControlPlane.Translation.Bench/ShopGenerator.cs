using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Translation.Bench;

/// <summary>Synthetic inputs: Services with an HTTP and a gRPC port and three endpoints in two zones, and RouteGroups over them.</summary>
public static class ShopGenerator
{
    public static IEnumerable<IManifestObject> Inventory(int services)
    {
        for (var i = 0; i < services; i++)
        {
            var ns = Ns(i);
            var name = Name(i);
            yield return new KubeService
            {
                Metadata = new ObjectMeta { Name = name, Namespace = ns },
                Spec = new KubeServiceSpec
                {
                    ClusterIP = $"10.96.{i / 250}.{i % 250}",
                    Ports = [new KubeServicePort { Name = "http", Port = 8080 }, new KubeServicePort { Name = "grpc", Port = 9090, AppProtocol = "grpc" }],
                },
            };
            yield return new EndpointSlice
            {
                Metadata = new ObjectMeta { Name = $"{name}-1", Namespace = ns, Labels = new Dictionary<string, string> { [EndpointSlice.ServiceNameLabel] = name } },
                Ports = [new SlicePort { Name = "http", Port = 8080 }, new SlicePort { Name = "grpc", Port = 9090 }],
                Endpoints = [.. Enumerable.Range(1, 3).Select(e => new SliceEndpoint { Addresses = [$"10.{i / 250}.{i % 250}.{e}"], Zone = e == 3 ? "zone-b" : "zone-a" })],
            };
        }
    }

    /// <summary>RouteGroup <paramref name="index"/>: keyed requests for one Service (by path) go 80/20 to its neighbour.</summary>
    public static RouteGroup RouteGroup(int index, int services, string pathPrefix)
    {
        var target = index % services;
        var neighbour = (index + 1) % services;
        var text = index.ToString(CultureInfo.InvariantCulture);
        return new RouteGroup
        {
            Metadata = new ObjectMeta { Name = $"rg-{text}", Namespace = Ns(target) },
            Spec = new RouteGroupSpec
            {
                Routes =
                [
                    new RouteRule
                    {
                        Service = Name(target),
                        Port = 8080,
                        Match = new RouteMatch { PathPrefix = pathPrefix, Headers = [new HeaderMatch { Name = "x-user", Exact = "user-" + text }] },
                        To = [new Destination { Service = $"{Name(neighbour)}.{Ns(neighbour)}", Weight = 80 }, new Destination { Service = Name(target), Weight = 20 }],
                        Timeout = "5s",
                    },
                ],
            },
        };
    }

    private static string Ns(int i) => "ns-" + (i % 20).ToString(CultureInfo.InvariantCulture);

    private static string Name(int i) => "svc-" + i.ToString(CultureInfo.InvariantCulture);
}
