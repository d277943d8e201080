using System.Globalization;
using System.Text;

namespace XdsControlPlane.AdminBench;

/// <summary>
/// A large manifest directory: Services with an HTTP and a gRPC port, one EndpointSlice each (three endpoints in two
/// zones), and a RouteGroup for every tenth Service. Written as YAML, read by the server's <c>--manifests</c>.
/// </summary>
internal static class ManifestGenerator
{
    public static void Write(string directory, int services)
    {
        Directory.CreateDirectory(directory);
        var inventory = new StringBuilder();
        var routing = new StringBuilder();
        for (var i = 0; i < services; i++)
        {
            var (ns, name) = ($"ns-{I(i % 20)}", $"svc-{I(i)}");
            inventory.Append(CultureInfo.InvariantCulture, $"""
                apiVersion: v1
                kind: Service
                metadata: {"{"}name: {name}, namespace: {ns}{"}"}
                spec:
                  clusterIP: 10.96.{I(i / 250)}.{I(i % 250)}
                  ports:
                  - {"{"}name: http, port: 8080{"}"}
                  - {"{"}name: grpc, port: 9090, appProtocol: grpc{"}"}
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {"{"}name: {name}-1, namespace: {ns}, labels: {"{"}kubernetes.io/service-name: {name}{"}"}{"}"}
                addressType: IPv4
                ports: [{"{"}name: http, port: 8080{"}"}, {"{"}name: grpc, port: 9090{"}"}]
                endpoints:
                - {"{"}addresses: [10.{I(i / 250)}.{I(i % 250)}.1], conditions: {"{"}ready: true{"}"}, zone: zone-a{"}"}
                - {"{"}addresses: [10.{I(i / 250)}.{I(i % 250)}.2], conditions: {"{"}ready: true{"}"}, zone: zone-a{"}"}
                - {"{"}addresses: [10.{I(i / 250)}.{I(i % 250)}.3], conditions: {"{"}ready: true{"}"}, zone: zone-b{"}"}
                ---

                """);
            if (i % 10 == 0)
            {
                var neighbour = (i + 1) % services;
                routing.Append(CultureInfo.InvariantCulture, $"""
                    apiVersion: sandboxctl.io/v1alpha1
                    kind: RouteGroup
                    metadata: {"{"}name: rg-{I(i)}, namespace: {ns}{"}"}
                    spec:
                      routes:
                      - service: {name}
                        port: 8080
                        match: {"{"}pathPrefix: /api, headers: [{"{"}name: x-user, exact: user-{I(i)}{"}"}]{"}"}
                        to:
                        - {"{"}service: svc-{I(neighbour)}.ns-{I(neighbour % 20)}, weight: 80{"}"}
                        - {"{"}service: {name}, weight: 20{"}"}
                        timeout: 5s
                    ---

                    """);
            }
        }

        File.WriteAllText(Path.Combine(directory, "inventory.yaml"), inventory.ToString());
        File.WriteAllText(Path.Combine(directory, "routing.yaml"), routing.ToString());
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
