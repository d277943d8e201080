using System.CommandLine;
using System.Text.Json.Nodes;
using Envoy.Admin.V3;
using Envoy.Service.Status.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Spectre.Console;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl proxies</c>: the sync state of every Envoy and gRPC client connected to a control-plane replica, over
/// CSDS — per type how many resources were ACKed of those sent, and the NACK error text (like <c>istioctl proxy-status</c>).
/// </summary>
internal static class ProxiesCommand
{
    private static readonly (string Short, string TypeUrl)[] KnownTypes =
    [
        ("CDS", "type.googleapis.com/envoy.config.cluster.v3.Cluster"),
        ("EDS", "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"),
        ("LDS", "type.googleapis.com/envoy.config.listener.v3.Listener"),
        ("RDS", "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"),
        ("SDS", "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"),
    ];

    /// <summary>
    /// The largest CSDS answer read (gRPC's default is 4 MiB): it lists every resource of every client, so a replica
    /// with a thousand Envoys holding a few hundred resources each answers with tens of megabytes.
    /// </summary>
    private const int MaxAnswerBytes = 256 * 1024 * 1024;

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf)
    {
        var address = new Option<string>("--xds-address") { Description = "The control plane's xDS address: host:port, [IPv6]:port, or an http:// or https:// URI.", DefaultValueFactory = _ => "localhost:18000" };
        var timeout = DurationOption.Create("--timeout", "How long to wait for the control plane: 10s, 1m or hh:mm:ss (at most 24h).", TimeSpan.FromSeconds(10), DurationRanges.CliWait);
        var command = new Command("proxies", "Show every connected proxy's sync state: versions ACKed and NACK errors.") { address, timeout };
        command.SetAction(async (parse, cancellation) =>
        {
            var cli = outputOf(parse);
            var proxies = await FetchAsync(Target(parse.GetValue(address)!), parse.GetValue(timeout), cancellation).ConfigureAwait(false);
            switch (parse.GetValue(output))
            {
                case OutputFormat.Table:
                    WriteTable(cli, proxies);
                    break;
                case var format:
                    cli.Write(new JsonArray([.. proxies.Select(ToJson)]), format);
                    break;
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// What <c>--xds-address</c> names: <c>host:port</c> (<c>[::1]:18000</c> for IPv6) over plain HTTP/2, or a URI
    /// with its scheme (<c>https://cp.example:443</c>).
    /// </summary>
    /// <exception cref="CliException">Neither (exit code 1, naming the flag).</exception>
    public static (Uri Uri, string Shown) Target(string address)
    {
        if (!address.Contains("://", StringComparison.Ordinal))
        {
            var parsed = XdsAddress.Parse(address, "localhost:18000");
            return (parsed.ToHttpUri(), parsed.ToString());
        }

        if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0)
        {
            return (uri, address);
        }

        throw new CliException(
            $"--xds-address must be host:port, [IPv6]:port or an http:// or https:// URI, got '{ClientText.Printable(address, 256)}'.",
            "For example --xds-address localhost:18000",
            ExitCodes.UserError);
    }

    /// <summary>Asks the control plane at <paramref name="target"/> for its clients' status.</summary>
    public static async Task<IReadOnlyList<ProxyStatus>> FetchAsync((Uri Uri, string Shown) target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var address = target.Shown;
        using var channel = GrpcChannel.ForAddress(target.Uri, new GrpcChannelOptions { MaxReceiveMessageSize = MaxAnswerBytes });
        var client = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        ClientStatusResponse response;
        try
        {
            response = await client.FetchClientStatusAsync(new ClientStatusRequest { ExcludeResourceContents = true }, deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            throw new CliException(
                $"the proxy status from {address} is larger than sandboxctl accepts ({MaxAnswerBytes / (1024 * 1024)} MiB): {e.Status.Detail}",
                hint: null,
                ExitCodes.ConnectionError);
        }
        catch (RpcException e)
        {
            throw new CliException(
                $"cannot get proxy status from {address}: {e.Status.StatusCode} ({e.Status.Detail})",
                "Check --xds-address; from a laptop, port-forward the control plane's xDS port first (kubectl -n sandboxctl-system port-forward svc/xds-control-plane 18000).",
                ExitCodes.ConnectionError);
        }

        return [.. response.Config.Select(ProxyStatus.Of).OrderBy(p => p.NodeId, StringComparer.Ordinal)];
    }

    private static void WriteTable(CliOutput cli, IReadOnlyList<ProxyStatus> proxies)
    {
        if (proxies.Count == 0)
        {
            cli.WriteText("No proxies are connected to this control-plane replica.\n");
            return;
        }

        var shown = KnownTypes.Where(t => proxies.Any(p => p.Types.ContainsKey(t.Short))).ToArray();
        var table = new Table().AddColumns(["NAME", "ROLE", "CLIENT", .. shown.Select(t => t.Short)]);
        foreach (var proxy in proxies)
        {
            table.AddRow([Markup.Escape(proxy.NodeId), Markup.Escape(proxy.Role), Markup.Escape(proxy.Agent.ToString()), .. shown.Select(t => Markup.Escape(proxy.Types.TryGetValue(t.Short, out var type) ? type.Summary : "-"))]);
        }

        cli.Console.Write(table);
        foreach (var proxy in proxies)
        {
            foreach (var (name, type) in proxy.Types.Where(t => t.Value.Error is not null))
            {
                cli.WriteText($"{proxy.NodeId} {name} NACKed version {type.NackedVersion}: {type.Error}\n");
            }
        }
    }

    private static JsonObject ToJson(ProxyStatus proxy) => new()
    {
        ["node"] = proxy.NodeId,
        ["cluster"] = proxy.NodeCluster,
        ["role"] = proxy.Role,
        ["client"] = new JsonObject { ["name"] = proxy.Agent.Name, ["version"] = proxy.Agent.Version },
        ["clientFeatures"] = new JsonArray([.. proxy.ClientFeatures.Select(f => JsonValue.Create(f))]),
        ["types"] = new JsonObject(proxy.Types.Select(t => KeyValuePair.Create<string, JsonNode?>(t.Key, new JsonObject
        {
            ["status"] = t.Value.Status,
            ["resources"] = t.Value.Resources,
            ["acked"] = t.Value.Acked,
            ["nackedVersion"] = t.Value.NackedVersion,
            ["error"] = t.Value.Error,
        }))),
    };

    /// <summary>
    /// One proxy: node, role, what client it is, and per type its sync state. Every text in it came from a client
    /// (through the control plane): it is made printable and capped here, where it enters the terminal, whatever the
    /// server kept (<see cref="ClientText"/>; an older or foreign server may pass it on raw).
    /// </summary>
    internal sealed record ProxyStatus(string NodeId, string NodeCluster, string Role, ClientAgent Agent, IReadOnlyList<string> ClientFeatures, IReadOnlyDictionary<string, TypeSync> Types)
    {
        public static ProxyStatus Of(ClientConfig config)
        {
            var role = config.Node.Metadata?.Fields.TryGetValue(DataPlaneRoles.RoleKey, out var value) == true && value.HasStringValue ? ClientText.Printable(value.StringValue, ClientAgent.MaxPartLength) : DataPlaneRoles.Sidecar;
            var types = new SortedDictionary<string, TypeSync>(StringComparer.Ordinal);
            foreach (var (name, typeUrl) in KnownTypes)
            {
                var entries = config.GenericXdsConfigs.Where(c => c.TypeUrl == typeUrl).ToArray();
                if (entries.Length > 0)
                {
                    types[name] = TypeSync.Of(entries);
                }
            }

            var features = config.Node.ClientFeatures.Select(f => ClientText.Printable(f, ClientAgent.MaxPartLength)).ToArray();
            return new ProxyStatus(Name(config.Node.Id), Name(config.Node.Cluster), role, ClientAgent.Of(config.Node), features, types);
        }
    }

    /// <summary>One type of one proxy: SYNCED, STALE (sent, not yet ACKed) or NACKED, with the NACK text.</summary>
    internal sealed record TypeSync(string Status, int Resources, int Acked, string? NackedVersion, string? Error)
    {
        public string Summary => Status switch
        {
            "NACKED" => $"NACKED ({Acked}/{Resources} acked)",
            "STALE" => $"STALE ({Acked}/{Resources} acked)",
            _ => $"SYNCED ({Resources})",
        };

        public static TypeSync Of(IReadOnlyList<ClientConfig.Types.GenericXdsConfig> entries)
        {
            var acked = entries.Count(e => e.ClientStatus == ClientResourceStatus.Acked);
            var nack = entries.FirstOrDefault(e => e.ClientStatus == ClientResourceStatus.Nacked)?.ErrorState;
            var status = nack is not null ? "NACKED" : acked == entries.Count ? "SYNCED" : "STALE";
            return nack is null
                ? new TypeSync(status, entries.Count, acked, null, null)
                : new TypeSync(status, entries.Count, acked, Name(nack.VersionInfo), ClientText.OneLine(nack.Details, ClientText.MaxMessageLength));
        }
    }

    private static string Name(string? text) => ClientText.Printable(text, ClientText.MaxNameLength);
}
