using System.CommandLine;
using XdsControlPlane.Model;
using System.Net;
using System.Net.Sockets;
using k8s;
using Spectre.Console;

namespace Sandboxctl.PortForward;

/// <summary>
/// <c>sandboxctl port-forward TARGET [LOCAL:]REMOTE...</c>: waits for a ready pod of the target, checks the local
/// ports (naming the process that holds a busy one and suggesting the nearest free port, or taking it with
/// <c>--auto-port</c>), then forwards every local connection to the pod, following the target to a new pod when
/// the pod goes away, until Ctrl+C.
/// </summary>
internal static class PortForwardCommand
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>The backoff of dials to a pod being replaced: from 200 ms up to 3 s.</summary>
    private static readonly (TimeSpan First, TimeSpan Cap) DialBackoff = (TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(3));

    /// <summary>The backoff of the search for a ready pod: from 200 ms up to 2 s.</summary>
    private static readonly (TimeSpan First, TimeSpan Cap) RediscoveryBackoff = (TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2));

    public static Command Build(Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var target = new Argument<string>("target") { Description = "pod/NAME, deploy/NAME or svc/NAME (a bare NAME is a pod)." };
        var ports = new Argument<string[]>("ports") { Description = "[LOCAL:]REMOTE ports; REMOTE is a pod port, or for svc/NAME a Service port.", Arity = ArgumentArity.OneOrMore };
        var address = new Option<string>("--address") { Description = "Local addresses to listen on, comma-separated (localhost, 127.0.0.1, ::1, 0.0.0.0).", DefaultValueFactory = _ => "127.0.0.1" };
        var autoPort = new Option<bool>("--auto-port") { Description = "When a local port is in use, listen on the nearest free one instead." };
        var timeout = DurationOption.Create("--pod-running-timeout", "How long to wait for a ready pod: 30s, 2m or hh:mm:ss (at most 24h).", TimeSpan.FromMinutes(1), DurationRanges.CliWait);
        var command = new Command("port-forward", "Forward local ports to a pod, following the target to a new pod when it is replaced.") { target, ports, address, autoPort, timeout };
        command.SetAction((parse, ct) =>
        {
            var request = new PortForwardRequest(
                PortForwardTarget.Parse(parse.GetValue(target)!),
                [.. parse.GetValue(ports)!.Select(PortMapping.Parse)],
                ParseAddresses(parse.GetValue(address)!),
                parse.GetValue(autoPort),
                parse.GetValue(timeout));
            return RunAsync(outputOf(parse), cluster.Connect(parse), request, new Random(), ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliOutput cli, (IKubernetes Client, string Namespace) cluster, PortForwardRequest request, Random random, CancellationToken cancellationToken)
    {
        var log = new PortForwardLog(cli);
        var resolver = new PortForwardTargetResolver(cluster.Client, cluster.Namespace, request.Target, request.Mappings);
        try
        {
            await resolver.EnsureExistsAsync(cancellationToken).ConfigureAwait(false);
            var pod = await WaitForReadyPodAsync(cli, resolver, request.PodRunningTimeout, cancellationToken).ConfigureAwait(false);
            var listeners = Listen(log, request, pod);
            try
            {
                log.Info($"Forwarding to pod {pod.Name} ({request.Target} in {cluster.Namespace})");
                foreach (var (listener, mapping) in listeners)
                {
                    var endpoint = (IPEndPoint)listener.LocalEndpoint;
                    log.Info($"Forwarding from {(endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address)}:{endpoint.Port} -> {pod.Ports[mapping]}");
                }
            }
            catch
            {
                foreach (var (listener, _) in listeners)
                {
                    listener.Dispose();
                }

                throw;
            }

            var tracker = new ReadyPodTracker(resolver, log, pod, CheckInterval, new RetryBackoff(RediscoveryBackoff.First, RediscoveryBackoff.Cap, random));
            var dialBackoff = new RetryBackoff(DialBackoff.First, DialBackoff.Cap, new Random(random.Next()));
            await new PortForwardSession(cluster.Client, cluster.Namespace, tracker, log, request.PodRunningTimeout, dialBackoff).RunAsync(listeners, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C: the listeners and connections are closed; a clean stop.
        }

        return ExitCodes.Ok;
    }

    private static async Task<ForwardingPod> WaitForReadyPodAsync(CliOutput cli, PortForwardTargetResolver resolver, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await resolver.FindReadyPodAsync(cancellationToken).ConfigureAwait(false) is { } ready)
        {
            return ready;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await cli.Console.Status().StartAsync($"Waiting for a ready pod of {resolver.Target}…", async _ =>
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token).ConfigureAwait(false);
                    if (await resolver.FindReadyPodAsync(deadline.Token).ConfigureAwait(false) is { } pod)
                    {
                        return pod;
                    }
                }
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(
                $"no pod of {resolver.Target} was ready within {timeout.TotalSeconds:0} s.",
                $"Check the pods (kubectl get pods -n {resolver.Namespace}) or wait longer with --pod-running-timeout.",
                ExitCodes.ConnectionError);
        }
    }

    /// <summary>A listener per address and port mapping; a busy port is an error naming its holder, or with --auto-port the nearest free port.</summary>
    private static List<(TcpListener Listener, int Mapping)> Listen(PortForwardLog log, PortForwardRequest request, ForwardingPod pod)
    {
        var listeners = new List<(TcpListener, int)>();
        try
        {
            for (var mapping = 0; mapping < request.Mappings.Count; mapping++)
            {
                var port = request.Mappings[mapping].LocalPort;
                foreach (var address in request.Addresses)
                {
                    var listener = LocalPortProbe.TryListen(address, port);
                    while (listener is null)
                    {
                        var owner = LocalPortProbe.Owner(port);
                        var busy = $"local port {port} on {address} is in use{(owner is null ? "" : $" by {owner}")}";
                        var free = LocalPortProbe.NearestFree(address, port);
                        if (!request.AutoPort || free is null)
                        {
                            throw new CliException(
                                busy + ".",
                                free is null ? "Stop the process that holds it, or pick another local port (LOCAL:REMOTE)." : $"Port {free} is free: use {free}:{pod.Ports[mapping]}, or pass --auto-port to take it.",
                                ExitCodes.UserError);
                        }

                        log.Info($"{char.ToUpperInvariant(busy[0])}{busy[1..]}; using {free} instead.");
                        port = free.Value;
                        listener = LocalPortProbe.TryListen(address, port);
                    }

                    listeners.Add((listener, mapping));

                    // ":REMOTE" or a port taken with --auto-port: the other addresses listen on the same port.
                    port = ((IPEndPoint)listener.LocalEndpoint).Port;
                }
            }

            return listeners;
        }
        catch
        {
            foreach (var (listener, _) in listeners)
            {
                listener.Dispose();
            }

            throw;
        }
    }

    private static IPAddress[] ParseAddresses(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(a => a switch
        {
            "localhost" => IPAddress.Loopback,
            _ when IPAddress.TryParse(a, out var address) => address,
            _ => throw new CliException($"'{a}' is not an IP address.", "Pass --address 127.0.0.1, ::1, 0.0.0.0 or localhost.", ExitCodes.UserError),
        }).Distinct()];

    private sealed record PortForwardRequest(PortForwardTarget Target, IReadOnlyList<PortMapping> Mappings, IReadOnlyList<IPAddress> Addresses, bool AutoPort, TimeSpan PodRunningTimeout);
}
