using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Envoy.Config.Bootstrap.V3;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl bootstrap --role gateway|sidecar</c>: prints the Envoy bootstrap that <c>envoy-bootstrap/</c> ships,
/// with the control plane's address, node id, node cluster and zone filled in, after checking it against Envoy's rules.
/// </summary>
internal static partial class BootstrapCommand
{
    public const string DefaultXdsAddress = "xds-control-plane.sandboxctl-system.svc.cluster.local:18000";

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf)
    {
        var role = new Option<string>("--role") { Description = "gateway or sidecar.", Required = true };
        role.AcceptOnlyFromAmong("gateway", "sidecar");
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

    /// <summary>The bootstrap YAML for <paramref name="role"/>, checked by parsing it as a Bootstrap and validating it.</summary>
    public static string Render(string role, string xdsAddress, string? nodeId, string? nodeCluster, string? zone)
    {
        var address = XdsAddress.Parse(xdsAddress, DefaultXdsAddress);
        using var stream = typeof(BootstrapCommand).Assembly.GetManifestResourceStream($"bootstrap/{role}.yaml")
            ?? throw new InvalidOperationException($"bootstrap/{role}.yaml is not embedded");
        using var reader = new StreamReader(stream);
        var yaml = reader.ReadToEnd();
        yaml = Replace(yaml, SocketAddressLine(), $"${{prefix}}{Quoted(address.Host)}, port_value: {address.Port.ToString(CultureInfo.InvariantCulture)}}}");
        if (address.IsIPv6)
        {
            // An IPv6 address resolves only as an IPv6 "name"; V4_PREFERRED would first ask DNS for an A record of "::1".
            yaml = Replace(yaml, DnsLookupFamilyLine(), "${prefix}V6_ONLY");
        }

        yaml = Replace(yaml, NodeIdLine(), "${prefix}" + Quoted(nodeId ?? $"{role}-1"));
        yaml = Replace(yaml, NodeClusterLine(), "${prefix}" + Quoted(nodeCluster ?? $"sandboxctl-{role}"));
        yaml = Replace(yaml, ZoneLine(), "${prefix}" + Quoted(zone ?? "zone-a"));

        var bootstrap = EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(yaml)!.ToJsonString());
        var validation = EnvoyRulesValidator.Default.Validate(bootstrap);
        if (!validation.IsValid)
        {
            throw new CliException($"the bootstrap would not be accepted by Envoy: {validation.Violations[0]}", "Check --node-id, --node-cluster and --zone.", ExitCodes.UserError);
        }

        return yaml;
    }

    /// <summary>A YAML single-quoted scalar (also escapes '$' for the regex replacement).</summary>
    private static string Quoted(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal).Replace("$", "$$", StringComparison.Ordinal) + "'";

    private static string Replace(string yaml, Regex line, string replacement)
    {
        var replaced = line.Replace(yaml, replacement, 1);
        return !ReferenceEquals(replaced, yaml) || line.IsMatch(yaml) ? replaced : throw new InvalidOperationException($"the bootstrap template has no line matching {line}");
    }

    [GeneratedRegex(@"(?<prefix>socket_address: \{address: )[^,]+, port_value: \d+\}", RegexOptions.CultureInvariant)]
    private static partial Regex SocketAddressLine();

    [GeneratedRegex(@"(?m)(?<prefix>^    dns_lookup_family: )V4_PREFERRED$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLookupFamilyLine();

    [GeneratedRegex(@"(?m)(?<prefix>^  id: )\S+", RegexOptions.CultureInvariant)]
    private static partial Regex NodeIdLine();

    [GeneratedRegex(@"(?m)(?<prefix>^  cluster: )\S+", RegexOptions.CultureInvariant)]
    private static partial Regex NodeClusterLine();

    [GeneratedRegex(@"(?m)(?<prefix>^    zone: )\S+", RegexOptions.CultureInvariant)]
    private static partial Regex ZoneLine();
}
