using System.CommandLine;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl bootstrap --role gateway|sidecar</c>: prints the Envoy bootstrap <see cref="EnvoyBootstrapRenderer"/>
/// builds (the one <c>envoy-bootstrap/</c> ships) for the control plane's address, node id, node cluster and zone,
/// after checking it against Envoy's rules.
/// </summary>
internal static class BootstrapCommand
{
    public const string DefaultXdsAddress = "xds-control-plane.sandboxctl-system.svc.cluster.local:18000";

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf)
    {
        var role = new Option<string>("--role") { Description = "gateway or sidecar.", Required = true };
        role.AcceptOnlyFromAmong([.. EnvoyBootstrapRenderer.Roles]);
        var address = new Option<string>("--xds-address") { Description = "The control plane's xDS address: host:port, or [IPv6]:port.", DefaultValueFactory = _ => DefaultXdsAddress };
        var nodeId = new Option<string?>("--node-id") { Description = "The node id (unique per Envoy; default <role>-1)." };
        var cluster = new Option<string?>("--node-cluster") { Description = "The node cluster (default sandboxctl-<role>)." };
        var zone = new Option<string?>("--zone") { Description = "The zone this Envoy runs in (default zone-a)." };
        var command = new Command("bootstrap", "Print an Envoy bootstrap that points at the control plane.") { role, address, nodeId, cluster, zone };
        command.SetAction(parse =>
        {
            var yaml = Render(parse.GetValue(role)!, parse.GetValue(address)!, parse.GetValue(nodeId), parse.GetValue(cluster), parse.GetValue(zone));
            var cli = outputOf(parse);
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
    public static string Render(string role, string xdsAddress, string? nodeId, string? nodeCluster, string? zone)
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
        });
        var validation = EnvoyBootstrapRenderer.Validate(bootstrap);
        if (!validation.IsValid)
        {
            throw new CliException($"the bootstrap would not be accepted by Envoy: {validation.Violations[0]}", "Check --node-id, --node-cluster and --zone.", ExitCodes.UserError);
        }

        return EnvoyBootstrapRenderer.ToYaml(bootstrap);
    }
}
