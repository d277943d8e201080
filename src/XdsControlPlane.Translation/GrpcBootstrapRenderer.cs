using System.Text.Json.Nodes;

namespace XdsControlPlane.Translation;

/// <summary>
/// Builds the xDS bootstrap of a proxyless gRPC client (gRFC A27's JSON, <c>GRPC_XDS_BOOTSTRAP</c>): the control plane
/// as the one xDS server (xDS v3), and a node of the <see cref="DataPlaneRoles.Grpc"/> group. Without TLS its channel
/// credentials are <c>insecure</c> (what <c>envoy-bootstrap/grpc-bootstrap.json</c> ships); with TLS they are gRFC A65's
/// <c>tls</c> type with the CA bundle and, for mutual TLS, the client's certificate and key, which the client re-reads
/// as they rotate. Only the <c>tls</c> type is listed: a client that does not know it refuses the bootstrap rather than
/// falling back to plaintext.
/// </summary>
public static class GrpcBootstrapRenderer
{
    /// <summary>The bootstrap for a client of the control plane at <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <param name="host">The control plane's host name or IP address (an IPv6 address without brackets).</param>
    /// <param name="port">Its xDS port.</param>
    /// <param name="nodeId">The node id (default <c>grpc-client-1</c>).</param>
    /// <param name="nodeCluster">The node cluster (default <c>sandboxctl-grpc</c>).</param>
    /// <param name="zone">The zone (default <c>zone-a</c>).</param>
    /// <param name="tls">TLS to the control plane, or null for plaintext.</param>
    /// <exception cref="ArgumentException">The port is out of range, or only one of the client certificate and key is given.</exception>
    public static JsonObject Build(string host, int port, string? nodeId = null, string? nodeCluster = null, string? zone = null, XdsTlsFiles? tls = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var uri = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        return new JsonObject
        {
            ["xds_servers"] = new JsonArray(new JsonObject
            {
                ["server_uri"] = uri,
                ["channel_creds"] = new JsonArray(ChannelCredentials(tls)),
                ["server_features"] = new JsonArray("xds_v3"),
            }),
            ["node"] = new JsonObject
            {
                ["id"] = nodeId ?? "grpc-client-1",
                ["cluster"] = nodeCluster ?? $"sandboxctl-{DataPlaneRoles.Grpc}",
                ["metadata"] = new JsonObject { [DataPlaneRoles.RoleKey] = DataPlaneRoles.Grpc },
                ["locality"] = new JsonObject { ["zone"] = zone ?? "zone-a" },
            },
        };
    }

    private static JsonObject ChannelCredentials(XdsTlsFiles? tls)
    {
        if (tls is null)
        {
            return new JsonObject { ["type"] = "insecure" };
        }

        if ((tls.CertFile is null) != (tls.KeyFile is null))
        {
            throw new ArgumentException("The client certificate and its key go together.", nameof(tls));
        }

        var config = new JsonObject { ["ca_certificate_file"] = tls.CaFile };
        if (tls.CertFile is not null)
        {
            config["certificate_file"] = tls.CertFile;
            config["private_key_file"] = tls.KeyFile;
        }

        return new JsonObject { ["type"] = "tls", ["config"] = config };
    }
}
