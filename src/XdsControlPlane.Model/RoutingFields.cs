using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace XdsControlPlane.Model;

/// <summary>
/// What translation and validation read of each kind, in one place: every field the model holds, except the metadata
/// the API server moves by itself (<c>resourceVersion</c>, <c>generation</c>) and the status — but for the two status
/// fields routing reads: a Sandbox's <c>status.routingKey</c> (<see cref="Sandbox.EffectiveRoutingKey"/>) and whether a
/// LocalWorkload is routable (<see cref="LocalWorkload.IsRoutable"/>, from its phase) and where its tunnel leads (address and broker ports; its heartbeats are not read).
/// Two versions with the same routing fields translate and validate alike, so a source keeps handing translation the
/// earlier instance and publishes nothing for the later one. Pure.
/// </summary>
public static class RoutingFields
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The routing fields of <paramref name="obj"/> as JSON (the model's field names).</summary>
    public static JsonObject Of(IManifestObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var node = JsonSerializer.SerializeToNode(obj, obj.GetType(), Json)!.AsObject();
        if (node["metadata"] is JsonObject metadata)
        {
            metadata.Remove("resourceVersion");
            metadata.Remove("generation");
        }

        node.Remove("status");
        switch (obj)
        {
            case Sandbox { Status.RoutingKey: { Length: > 0 } key }:
                node["status"] = new JsonObject { ["routingKey"] = key };
                break;
            case LocalWorkload workload:
                node["routable"] = workload.IsRoutable;
                if (workload.IsRoutable)
                {
                    // Where the tunnel leads (not its heartbeats): the endpoints data planes dial.
                    node["tunnel"] = new JsonObject
                    {
                        ["address"] = workload.Status!.Tunnel!.Address,
                        ["ports"] = new JsonArray([.. workload.Status.Tunnel.Ports.Select(p => (JsonNode)new JsonObject { ["port"] = p.Port, ["brokerPort"] = p.BrokerPort })]),
                    };
                }

                break;
        }

        return node;
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> say the same to translation (the same instance, or the same kind with equal routing fields).</summary>
    public static bool Equal(IManifestObject? a, IManifestObject? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.GetType() == b.GetType() && JsonNode.DeepEquals(Of(a), Of(b)));
}
