using System.Text.Json.Nodes;

namespace XdsControlPlane.Testing;

/// <summary>EndpointSlices as the EndpointSlice controller writes them, for Services whose pods are loopback backends.</summary>
internal sealed partial class FakeApiServer
{
    /// <summary>An EndpointSlice of <paramref name="ns"/>/<paramref name="service"/>: one ready endpoint, 127.0.0.1:<paramref name="port"/> for its port <c>http</c>.</summary>
    public static JsonObject EndpointSliceObject(string ns, string service, int port) => EndpointSliceObject(ns, service, port, "127.0.0.1");

    /// <summary>An EndpointSlice of <paramref name="ns"/>/<paramref name="service"/>: one ready endpoint, <paramref name="address"/>:<paramref name="port"/> for its port <c>http</c>.</summary>
    public static JsonObject EndpointSliceObject(string ns, string service, int port, string address) => new()
    {
        ["apiVersion"] = "discovery.k8s.io/v1",
        ["kind"] = "EndpointSlice",
        ["metadata"] = new JsonObject { ["name"] = $"{service}-1", ["namespace"] = ns, ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = service } },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port, ["protocol"] = "TCP" }),
        ["endpoints"] = new JsonArray(new JsonObject { ["addresses"] = new JsonArray(address), ["conditions"] = new JsonObject { ["ready"] = true } }),
    };
}
