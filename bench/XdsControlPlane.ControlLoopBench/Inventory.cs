using System.Globalization;
using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace XdsControlPlane.ControlLoopBench;

/// <summary>One object of the inventory: its API collection (as the fake API server names it), the manifest file that holds it and its body.</summary>
internal sealed record InventoryObject(string Collection, string File, JsonObject Body)
{
    public string Namespace => (string)Body["metadata"]!["namespace"]!;

    public string Name => (string)Body["metadata"]!["name"]!;
}

/// <summary>
/// A generated inventory: Services (HTTP 8080 and gRPC 9090) with one EndpointSlice each (two endpoints) spread over
/// up to 20 namespaces, a fork Service for up to 100 of them, RouteGroups that send keyed requests with a header
/// match to the fork (80/20 with the baseline), a few Sandboxes and one LocalWorkload. The objects are kept by
/// collection, namespace and name, each assigned to one of about 70 manifest files.
/// </summary>
internal sealed class Inventory
{
    public const int EditedServices = 5;
    private readonly Dictionary<(string, string, string), InventoryObject> _objects = [];
    private readonly List<(string, string, string)> _order = [];

    private Inventory(int services, int routeGroups, int sandboxes)
    {
        (Services, RouteGroups, Sandboxes) = (services, routeGroups, sandboxes);
    }

    public int Services { get; }

    public int RouteGroups { get; }

    public int Sandboxes { get; }

    public IEnumerable<InventoryObject> Objects => _order.Select(k => _objects[k]);

    public static string ServiceName(int i) => $"svc-{I(i, "0000")}";

    public static string NamespaceOf(int service) => $"ns-{I(service % 20, "00")}";

    public static string RouteGroupName(int i) => $"rg-{I(i, "00000")}";

    public static string SandboxName(int j) => $"sbx-{I(j)}";

    public const string LocalWorkloadName = "lw-1";

    /// <summary>The Service the LocalWorkload stands in for.</summary>
    public int LocalWorkloadService => Math.Min(3, Services - 1);

    /// <summary>The EDS cluster name of a Service port, as the translator names it (Istio's scheme).</summary>
    public static string ClusterName(int service, int port) => $"outbound|{I(port)}||{ServiceName(service)}.{NamespaceOf(service)}.svc.cluster.local";

    /// <summary>The clusters the benchmark's clients subscribe to by EDS: both ports of the edited Services.</summary>
    public IReadOnlyList<string> SubscribedClusters =>
        [.. Enumerable.Range(0, Math.Min(EditedServices, Services)).SelectMany(s => new[] { ClusterName(s, 8080), ClusterName(s, 9090) })];

    /// <summary>
    /// Generates the inventory. With <paramref name="withController"/> (the Kubernetes source) the forked baselines get
    /// Deployments and the Sandbox controller makes the fork Services; otherwise (manifests) the fork Services are written.
    /// </summary>
    public static Inventory Generate(int services, int routeGroups, bool withController)
    {
        var sandboxes = Math.Min(3, services);
        var inventory = new Inventory(services, routeGroups, sandboxes);
        var forks = Math.Min(100, services);
        for (var i = 0; i < services; i++)
        {
            inventory.AddService(i, ServiceName(i), NamespaceOf(i), $"10.96.{I(i / 250)}.{I(i % 250)}", $"10.{I(i / 250)}.{I(i % 250)}", null);
            if (i < forks)
            {
                inventory.AddService(i, $"{ServiceName(i)}-fork", NamespaceOf(i), $"10.97.{I(i / 250)}.{I(i % 250)}", $"10.{I(100 + (i / 250))}.{I(i % 250)}", null);
            }
        }

        for (var j = 0; j < sandboxes; j++)
        {
            var (baseline, ns) = (ServiceName(j), NamespaceOf(j));
            if (withController)
            {
                inventory.Add(FakeApiServer.Deployments, "deployments.yaml", FakeApiServer.DeploymentObject(ns, baseline, $"registry.example.com/{baseline}:1"));
            }
            else
            {
                inventory.AddService(j, $"{baseline}-{SandboxName(j)}", ns, $"10.98.0.{I(j)}", $"10.200.0.{I(j)}", new JsonObject
                {
                    ["sandboxctl.io/sandbox"] = SandboxName(j),
                    ["sandboxctl.io/fork-of"] = baseline,
                });
            }

            inventory.Add(FakeApiServer.Sandboxes, "sandboxes.yaml", new JsonObject
            {
                ["apiVersion"] = "sandboxctl.io/v1alpha1",
                ["kind"] = "Sandbox",
                ["metadata"] = new JsonObject { ["name"] = SandboxName(j), ["namespace"] = ns },
                ["spec"] = new JsonObject
                {
                    ["routingKey"] = $"{SandboxName(j)}-key",
                    ["forks"] = new JsonArray(new JsonObject
                    {
                        ["of"] = new JsonObject { ["kind"] = "Deployment", ["name"] = baseline },
                        ["image"] = $"registry.example.com/{baseline}:{SandboxName(j)}",
                        ["env"] = new JsonArray(new JsonObject { ["name"] = "FEATURE", ["value"] = "on" }),
                    }),
                    ["ttl"] = "72h",
                },
            });
        }

        for (var r = 0; r < routeGroups; r++)
        {
            var s = r % services;
            var route = new JsonObject
            {
                ["service"] = ServiceName(s),
                ["port"] = 8080,
                ["match"] = new JsonObject { ["headers"] = new JsonArray(new JsonObject { ["name"] = "x-user", ["exact"] = $"user-{I(r, "00000")}" }) },
                ["to"] = new JsonArray(
                    new JsonObject { ["service"] = $"{ServiceName(s % forks)}-fork", ["weight"] = 80 },
                    new JsonObject { ["service"] = ServiceName(s), ["weight"] = 20 }),
                ["timeout"] = "5s",
            };
            var routes = new JsonArray(route);
            if (r % 2 == 1)
            {
                routes.Add(new JsonObject
                {
                    ["service"] = ServiceName(s),
                    ["port"] = 9090,
                    ["to"] = new JsonArray(new JsonObject { ["service"] = $"{ServiceName(s % forks)}-fork" }),
                    ["retries"] = new JsonObject { ["attempts"] = 2, ["retryOn"] = "unavailable,reset" },
                });
            }

            inventory.Add(FakeApiServer.RouteGroups, $"routegroups-{I(r % 27, "00")}.yaml", new JsonObject
            {
                ["apiVersion"] = "sandboxctl.io/v1alpha1",
                ["kind"] = "RouteGroup",
                ["metadata"] = new JsonObject { ["name"] = RouteGroupName(r), ["namespace"] = NamespaceOf(s) },
                ["spec"] = new JsonObject { ["routes"] = routes },
            });
        }

        var workloadService = inventory.LocalWorkloadService;
        inventory.Add(FakeApiServer.LocalWorkloads, "localworkloads.yaml", new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = LocalWorkloadName, ["namespace"] = NamespaceOf(workloadService) },
            ["spec"] = new JsonObject
            {
                ["routingKey"] = "laptop-key",
                ["service"] = ServiceName(workloadService),
                ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080, ["protocol"] = "http" }),
            },
        });
        return inventory;
    }

    public InventoryObject Get(string collection, string ns, string name) => _objects[(collection, ns, name)];

    /// <summary>The objects of one manifest file, in inventory order.</summary>
    public IEnumerable<InventoryObject> InFile(string file) => Objects.Where(o => o.File == file);

    private void AddService(int index, string name, string ns, string clusterIp, string endpointPrefix, JsonObject? labels)
    {
        var serviceLabels = labels ?? new JsonObject { ["app"] = name };
        Add(FakeApiServer.Services, $"services-{ns}.yaml", new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = serviceLabels },
            ["spec"] = new JsonObject
            {
                ["clusterIP"] = clusterIp,
                ["selector"] = new JsonObject { ["app"] = name },
                ["ports"] = new JsonArray(
                    new JsonObject { ["name"] = "http", ["port"] = 8080, ["targetPort"] = 8080, ["protocol"] = "TCP" },
                    new JsonObject { ["name"] = "grpc", ["port"] = 9090, ["targetPort"] = 9090, ["protocol"] = "TCP", ["appProtocol"] = "grpc" }),
            },
        });
        Add(FakeApiServer.EndpointSlices, $"endpointslices-{ns}.yaml", new JsonObject
        {
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["kind"] = "EndpointSlice",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{name}-1",
                ["namespace"] = ns,
                ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = name },
            },
            ["addressType"] = "IPv4",
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = 8080 }, new JsonObject { ["name"] = "grpc", ["port"] = 9090 }),
            ["endpoints"] = new JsonArray(
                new JsonObject { ["addresses"] = new JsonArray($"{endpointPrefix}.1"), ["conditions"] = new JsonObject { ["ready"] = true }, ["zone"] = "zone-a" },
                new JsonObject { ["addresses"] = new JsonArray($"{endpointPrefix}.2"), ["conditions"] = new JsonObject { ["ready"] = true }, ["zone"] = index % 2 == 0 ? "zone-a" : "zone-b" }),
        });
    }

    private void Add(string collection, string file, JsonObject body)
    {
        var item = new InventoryObject(collection, file, body);
        var key = (collection, item.Namespace, item.Name);
        _objects.Add(key, item);
        _order.Add(key);
    }

    private static string I(int value, string format = "0") => value.ToString(format, CultureInfo.InvariantCulture);
}
