using System.Globalization;
using System.Text;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// The manifests the fault runs serve, in a temporary directory: <c>services</c> Services (namespace <c>faults</c>,
/// port <c>http</c> 8080) with an EndpointSlice each, one RouteGroup per ten Services sending keyed requests to the
/// next Service, and the Service <c>laptop</c> (tcp 9000) a local-connect agent stands in for. Two files are edited
/// while a run goes on, each written as editors save (a temporary file, then a rename): <c>churn-endpoints.yaml</c>
/// (the first Service's endpoint address) and <c>churn-routegroup.yaml</c> (a header value of one RouteGroup).
/// </summary>
internal sealed class FaultInventory : IDisposable
{
    private readonly int _services;
    private int _endpointEdits;
    private int _routeGroupEdits;

    public FaultInventory(int services)
    {
        _services = Math.Max(2, services);
        Directory = System.IO.Directory.CreateTempSubdirectory("fault-bench-").FullName;
        var text = new StringBuilder();
        text.Append("apiVersion: v1\nkind: Service\nmetadata: {name: laptop, namespace: faults}\nspec:\n  ports: [{name: tcp, port: 9000}]\n");
        for (var i = 0; i < _services; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: faults}}\nspec:\n  ports: [{{name: http, port: 8080}}]\n");
            if (i > 0)
            {
                text.Append(Slice(i, $"10.1.{i / 250}.{(i % 250) + 1}"));
            }

            if (i % 10 == 1)
            {
                text.Append(RouteGroup(i, "user-0"));
            }
        }

        File.WriteAllText(Path.Combine(Directory, "inventory.yaml"), text.ToString());
        File.WriteAllText(Path.Combine(Directory, "churn-endpoints.yaml"), Slice(0, "10.2.0.1"));
        File.WriteAllText(Path.Combine(Directory, "churn-routegroup.yaml"), RouteGroup(0, "user-0"));
    }

    /// <summary>The manifests directory (<c>--manifests</c>).</summary>
    public string Directory { get; }

    /// <summary>Moves the first Service's endpoint to the next address.</summary>
    public Task ChangeEndpointAsync(CancellationToken cancellationToken)
    {
        var n = ++_endpointEdits;
        return WriteAsync("churn-endpoints.yaml", Slice(0, $"10.2.{(n / 250) % 250}.{(n % 250) + 1}"), cancellationToken);
    }

    /// <summary>Changes the header value a RouteGroup matches.</summary>
    public Task ChangeRouteGroupAsync(CancellationToken cancellationToken) =>
        WriteAsync("churn-routegroup.yaml", RouteGroup(0, $"user-{++_routeGroupEdits}"), cancellationToken);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private async Task WriteAsync(string file, string text, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(Directory, "." + file + ".tmp");
        await File.WriteAllTextAsync(temporary, text, cancellationToken);
        File.Move(temporary, Path.Combine(Directory, file), overwrite: true);
    }

    private static string Slice(int service, string address) => string.Create(CultureInfo.InvariantCulture, $"""
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {"{"}name: svc-{service}-1, namespace: faults, labels: {"{"}kubernetes.io/service-name: svc-{service}{"}}"}
        addressType: IPv4
        ports: [{"{"}name: http, port: 8080{"}"}]
        endpoints:
        - {"{"}addresses: [{address}], conditions: {"{"}ready: true{"}}"}

        """);

    private string RouteGroup(int service, string user) => string.Create(CultureInfo.InvariantCulture, $"""
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {"{"}name: rg-{service}, namespace: faults{"}"}
        spec:
          routingKey: rg-{service}
          routes:
          - service: svc-{service}
            port: 8080
            match:
              headers:
              - {"{"}name: x-user, exact: {user}{"}"}
            to:
            - {"{"}service: svc-{(service + 1) % _services}{"}"}

        """);
}
