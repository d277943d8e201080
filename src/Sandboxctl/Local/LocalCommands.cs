using System.CommandLine;

namespace Sandboxctl.Local;

/// <summary>
/// <c>sandboxctl local connect | status | disconnect</c>: put the service on this machine into a sandbox through the
/// control plane's tunnel broker, see the agents running here, and stop them.
/// </summary>
internal static class LocalCommands
{
    private static readonly XdsControlPlane.Model.DurationRange ReconnectDelayRange = new(TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1), "250ms or 2s");

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var command = new Command("local", "Serve a Service from this machine under a routing key (local connect), list the agents (status), stop them (disconnect).");
        command.Subcommands.Add(Connect(output, outputOf, cluster));
        command.Subcommands.Add(Status(output, outputOf, cluster));
        command.Subcommands.Add(Disconnect(outputOf));
        return command;
    }

    private static Command Connect(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var sandbox = new Option<string?>("--sandbox") { Description = "The Sandbox whose routing key requests for this machine carry." };
        var routingKey = new Option<string?>("--routing-key") { Description = "The routing key requests for this machine carry (instead of --sandbox)." };
        var service = new Option<string?>("--service") { Description = "The Service this machine stands in for." };
        var ports = new Option<string[]>("--port") { Description = "LOCAL[:REMOTE]: Service port REMOTE is served by localhost:LOCAL (REMOTE defaults to LOCAL). Repeatable.", AllowMultipleArgumentsPerToken = false };
        var expose = new Option<string[]>("--expose") { Description = "SVC:PORT=LOCALPORT: localhost:LOCALPORT reaches port PORT of in-cluster Service SVC, HTTP with the routing key added. Repeatable." };
        var preview = new Option<string[]>("--preview") { Description = "PORT[:public|shared|personal]: a preview URL at the gateway opens Service port PORT (one of --port) of this machine in a browser; personal (the default) opens to you only. Repeatable." };
        var server = new Option<string?>("--server") { Description = "The tunnel broker's address HOST:PORT (default: port-forward through the API server to a control-plane pod)." };
        var token = new Option<string?>("--token") { Description = "The token of a broker started with --manifests and a tunnel token (also read from SANDBOXCTL_TUNNEL_TOKEN, which keeps it out of the process list)." };
        var name = new Option<string?>("--name") { Description = "The LocalWorkload's name (default SERVICE-USER)." };
        var force = new Option<bool>("--force") { Description = "Take over a LocalWorkload that exists (its agent is refused from then on)." };
        var reconnectDelay = DurationOption.Create(
            "--reconnect-delay", "The first wait before reconnecting a lost tunnel; it doubles (with jitter) up to 10 s until a session stays up.", RetryBackoff.ReconnectFirst, ReconnectDelayRange);
        var envFile = new Option<string?>("--env-file") { Description = "Write the environment of a ready pod of --service (literal values, ConfigMap and Secret references you may read, the downward API) to this dotenv file, mode 0600. Kubernetes mode only." };
        var container = new Option<string?>("--container") { Description = "The container whose environment --env-file writes (default: the pod's first)." };
        var caFile = new Option<string?>("--ca-file") { Description = "Reach the tunnel broker over TLS, trusting its certificate by this CA bundle (PEM); its certificate must name the --server host (127.0.0.1 through the port-forward)." };
        var certFile = new Option<string?>("--cert-file") { Description = "With --ca-file: the client certificate (PEM) for a broker that asks for one; with --key-file." };
        var keyFile = new Option<string?>("--key-file") { Description = "The private key (PEM) of --cert-file." };
        var controlPlane = new Option<string>("--control-plane-namespace") { Description = "Where the control plane's pods run (for the port-forward).", DefaultValueFactory = _ => "sandboxctl-system" };
        var command = new Command("connect", "Route requests with the routing key for --service to this machine until Ctrl+C; --expose in-cluster Services on local ports.")
        {
            sandbox, routingKey, service, ports, expose, preview, server, token, name, force, envFile, container, reconnectDelay, controlPlane, caFile, certFile, keyFile,
        };
        command.SetAction((parse, ct) =>
        {
            var request = LocalConnectRequest.From(
                parse.GetValue(sandbox), parse.GetValue(routingKey), parse.GetValue(service), parse.GetValue(ports) ?? [], parse.GetValue(expose) ?? [],
                parse.GetValue(server), parse.GetValue(token) ?? (Environment.GetEnvironmentVariable("SANDBOXCTL_TUNNEL_TOKEN") is { Length: > 0 } fromEnvironment ? fromEnvironment : null), parse.GetValue(name), parse.GetValue(force), parse.GetValue(controlPlane)!).WithPreviews(parse.GetValue(preview) ?? []) with
            {
                ReconnectDelay = parse.GetValue(reconnectDelay),
                EnvFile = parse.GetValue(envFile) is { Length: > 0 } file ? file : null,
                Container = parse.GetValue(container),
                Tls = BrokerTls.From(parse.GetValue(caFile), parse.GetValue(certFile), parse.GetValue(keyFile)),
            };
            var cli = outputOf(parse);
            var identity = new ClusterIdentity(parse.GetValue(cluster.Kubeconfig)?.FullName, parse.GetValue(cluster.Context));
            return new LocalConnect(cli, AgentReporter.StyleOf(cli, parse.GetValue(output)), AgentStateStore.ForUser(), new Random())
                .RunAsync(request, () => cluster.Connect(parse), parse.GetValue(cluster.Namespace), identity, ct);
        });
        return command;
    }

    private static Command Status(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var command = new Command("status", "The local-connect agents running on this machine, and their LocalWorkloads' phase in the cluster.");
        command.SetAction((parse, ct) => new LocalStatus(outputOf(parse), AgentStateStore.ForUser(), TimeProvider.System)
            .RunAsync(parse.GetValue(output), identity => ClientFor(identity, cluster, parse), ct));
        return command;
    }

    private static Command Disconnect(Func<ParseResult, CliOutput> outputOf)
    {
        var name = new Argument<string?>("name") { Description = "The LocalWorkload (NAME or NAMESPACE/NAME); may be left out when one agent runs.", Arity = ArgumentArity.ZeroOrOne };
        var force = new Option<bool>("--force") { Description = "Also when the agent is gone or does not stop: delete its LocalWorkload from the cluster and remove its state." };
        var command = new Command("disconnect", "Stop a local-connect agent of this machine (it says Goodbye and deletes its LocalWorkload).") { name, force };
        command.SetAction((parse, ct) => new LocalDisconnect(outputOf(parse), AgentStateStore.ForUser())
            .RunAsync(parse.GetValue(name), parse.GetValue(force), ct));
        return command;
    }

    /// <summary>The cluster of an agent's state: its kubeconfig and context when it recorded them, else the command line's.</summary>
    private static k8s.IKubernetes ClientFor(ClusterIdentity identity, ClusterConnection cluster, ParseResult parse) =>
        identity.Kubeconfig is null && identity.Context is null ? cluster.Connect(parse).Client : LocalDisconnect.ClientFor(identity);
}
