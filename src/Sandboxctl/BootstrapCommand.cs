using System.CommandLine;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl bootstrap --role gateway|sidecar|grpc</c>: prints the Envoy bootstrap <see cref="EnvoyBootstrapRenderer"/>
/// builds (the one <c>envoy-bootstrap/</c> ships) for the control plane's address, node id, node cluster and zone,
/// after checking it against Envoy's rules; for <c>grpc</c>, a proxyless gRPC client's xDS bootstrap
/// (<see cref="GrpcBootstrapRenderer"/>, JSON). <c>--xds-ca-file</c> (with <c>--xds-cert-file</c>/<c>--xds-key-file</c>
/// for mutual TLS) makes either reach a control plane that serves TLS; <c>--xds-token-file</c> makes an Envoy send a
/// projected ServiceAccount token with every xDS stream.
/// </summary>
internal static class BootstrapCommand
{
    public const string DefaultXdsAddress = "xds-control-plane.sandboxctl-system.svc.cluster.local:18000";

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf)
    {
        var role = new Option<string>("--role") { Description = "gateway, sidecar (Envoy bootstraps, YAML) or grpc (a proxyless gRPC client's xDS bootstrap, JSON).", Required = true };
        role.AcceptOnlyFromAmong([.. EnvoyBootstrapRenderer.Roles, DataPlaneRoles.Grpc]);
        var address = new Option<string>("--xds-address") { Description = "The control plane's xDS address: host:port, or [IPv6]:port.", DefaultValueFactory = _ => DefaultXdsAddress };
        var nodeId = new Option<string?>("--node-id") { Description = "The node id (unique per Envoy; default <role>-1)." };
        var cluster = new Option<string?>("--node-cluster") { Description = "The node cluster (default sandboxctl-<role>)." };
        var zone = new Option<string?>("--zone") { Description = "The zone this Envoy runs in (default zone-a)." };
        var caFile = new Option<string?>("--xds-ca-file") { Description = "Reach the control plane over TLS: the CA bundle (PEM) its certificate chains to, as a path on the data plane's file system." };
        var certFile = new Option<string?>("--xds-cert-file") { Description = "With --xds-ca-file: the client certificate (PEM) for mutual TLS (a workload's SPIFFE certificate); with --xds-key-file." };
        var keyFile = new Option<string?>("--xds-key-file") { Description = "The private key (PEM) of --xds-cert-file." };
        var serverName = new Option<string?>("--xds-server-name") { Description = "With --xds-ca-file (Envoy roles): the name the control plane's certificate must carry (default the --xds-address host)." };
        var tokenFile = new Option<string?>("--xds-token-file") { Description = "With --xds-ca-file (Envoy roles): send this projected ServiceAccount token (a path on the data plane) on every xDS stream as authorization: Bearer, for a control plane with --xds-token-review; Envoy then uses its Google gRPC client for xDS." };
        var command = new Command("bootstrap", "Print an Envoy bootstrap (or a gRPC client's xDS bootstrap) that points at the control plane.") { role, address, nodeId, cluster, zone, caFile, certFile, keyFile, serverName, tokenFile };
        command.SetAction(parse =>
        {
            var tls = TlsOf(parse.GetValue(caFile), parse.GetValue(certFile), parse.GetValue(keyFile), parse.GetValue(serverName), parse.GetValue(tokenFile));
            var cli = outputOf(parse);
            if (parse.GetValue(role) == DataPlaneRoles.Grpc)
            {
                if (tls?.TokenFile is not null)
                {
                    throw new CliException("--xds-token-file applies to Envoy bootstraps (gateway, sidecar) only.", "A gRPC client implementing gRFC A97 sends a token from its bootstrap's call_creds (docs/security.md#serviceaccount-tokens).", ExitCodes.UserError);
                }

                var where = XdsAddress.Parse(parse.GetValue(address)!, DefaultXdsAddress);
                cli.Write(GrpcBootstrapRenderer.Build(where.Host, where.Port, parse.GetValue(nodeId), parse.GetValue(cluster), parse.GetValue(zone), tls), OutputFormat.Json);
                return ExitCodes.Ok;
            }

            var yaml = Render(parse.GetValue(role)!, parse.GetValue(address)!, parse.GetValue(nodeId), parse.GetValue(cluster), parse.GetValue(zone), tls);
            if (parse.GetValue(output) == OutputFormat.Json)
            {
                cli.Write(YamlJson.Convert(yaml)!, OutputFormat.Json);
            }
            else
            {
                cli.WriteText(yaml);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The bootstrap YAML for <paramref name="role"/> (<see cref="EnvoyBootstrapRenderer"/>), checked against Envoy's rules.</summary>
    public static string Render(string role, string xdsAddress, string? nodeId, string? nodeCluster, string? zone, XdsTlsFiles? tls = null)
    {
        var address = XdsAddress.Parse(xdsAddress, DefaultXdsAddress);
        var bootstrap = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest
        {
            Role = role,
            XdsHost = address.Host,
            XdsPort = address.Port,
            NodeId = nodeId,
            NodeCluster = nodeCluster,
            Zone = zone,
            Tls = tls,
        });
        var validation = EnvoyBootstrapRenderer.Validate(bootstrap);
        if (!validation.IsValid)
        {
            throw new CliException($"the bootstrap would not be accepted by Envoy: {validation.Violations[0]}", "Check --node-id, --node-cluster and --zone.", ExitCodes.UserError);
        }

        return EnvoyBootstrapRenderer.ToYaml(bootstrap);
    }

    /// <summary>The TLS files of the flags, or null without <c>--xds-ca-file</c>; throws a <see cref="CliException"/> naming a flag given without its partner.</summary>
    internal static XdsTlsFiles? TlsOf(string? caFile, string? certFile, string? keyFile, string? serverName, string? tokenFile = null)
    {
        if ((certFile is null) != (keyFile is null))
        {
            throw new CliException("--xds-cert-file and --xds-key-file go together.", "Give the client certificate and its private key, or neither.", ExitCodes.UserError);
        }

        if (caFile is null)
        {
            return certFile is null && serverName is null && tokenFile is null
                ? null
                : throw new CliException("--xds-cert-file, --xds-key-file, --xds-server-name and --xds-token-file need --xds-ca-file.", "Give --xds-ca-file with the CA bundle the control plane's certificate chains to (a token is sent over TLS only: it would cross the network in the clear).", ExitCodes.UserError);
        }

        foreach (var (path, flag) in new[] { (caFile, "--xds-ca-file"), (certFile, "--xds-cert-file"), (keyFile, "--xds-key-file"), (tokenFile, "--xds-token-file") })
        {
            if (path is not null && (path.Length == 0 || path.Length > 4096 || path.Any(char.IsControl)))
            {
                throw new CliException($"{flag} must be a file path (1 to 4096 characters, no control characters).", "Name the file as the data plane sees it, e.g. /etc/sandboxctl/tls/ca.crt.", ExitCodes.UserError);
            }
        }

        if (serverName is not null && !XdsControlPlane.Model.SchemaPatterns.IsDnsSubdomain(serverName))
        {
            throw new CliException($"--xds-server-name '{serverName}' is not a DNS name.", "Give the name the control plane's certificate carries, e.g. xds-control-plane.sandboxctl-system.svc.", ExitCodes.UserError);
        }

        return new XdsTlsFiles(caFile, certFile, keyFile, serverName) { TokenFile = tokenFile };
    }
}
