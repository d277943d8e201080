using System.Runtime.InteropServices;
using k8s;
using XdsControlPlane.Tunnel;

namespace Sandboxctl.Local;

/// <summary>
/// <c>sandboxctl local connect</c> from start to end, each step done by its own class: preflight (each <c>--port</c>
/// listening, each <c>--expose</c> port free, and — when the broker is in the cluster — what the LocalWorkload names),
/// the way to the broker (<see cref="BrokerConnection"/>: <c>--server</c> or a port-forward, Describe, the version
/// gate), the LocalWorkload (<see cref="IAgentRegistration"/>: created in the cluster, or carried in Hello in manifests
/// mode), the state file (<see cref="AgentStateFile"/>, written once the broker welcomed the agent), then the reconnecting tunnel until Ctrl+C or SIGTERM, and the
/// cleanup: Goodbye, the LocalWorkload deleted, the state file removed.
/// </summary>
internal sealed class LocalConnect(CliOutput cli, ReportStyle style, AgentStateStore store, Random random)
{
    /// <summary>Runs the agent; <paramref name="cluster"/> gives the kube client when one is needed (not for <c>--server</c> to a manifests-mode broker).</summary>
    public async Task<int> RunAsync(LocalConnectRequest request, Func<(IKubernetes Client, string Namespace)> cluster, string? manifestsNamespace, ClusterIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(cluster);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stopped = 0;
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            // The handler runs on a thread of its own and may come after the agent finished and let go of its token.
            context.Cancel = true;
            if (Interlocked.Exchange(ref stopped, 1) == 0)
            {
                try
                {
                    stopping.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        });
        var stop = stopping.Token;
        var reporter = new AgentReporter(cli, style, TimeProvider.System);
        try
        {
            return await ConnectAsync(request, cluster, manifestsNamespace, identity, reporter, stop).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            reporter.Error(e.Message, e.Hint);
            throw;
        }
    }

    private async Task<int> ConnectAsync(LocalConnectRequest request, Func<(IKubernetes Client, string Namespace)> cluster, string? manifestsNamespace, ClusterIdentity identity, AgentReporter reporter, CancellationToken stop)
    {
        await CheckServedPortsAsync(request, stop).ConfigureAwait(false);
        var exposed = new List<ExposedListener>();
        BrokerConnection? broker = null;
        IAgentRegistration? registration = null;
        AgentStateFile? stateFile = null;
        ReconnectingAgent? agent = null;
        var backoff = RetryBackoff.Reconnect(random, request.ReconnectDelay);
        try
        {
            foreach (var expose in request.Exposed)
            {
                exposed.Add(ExposedListener.Listen(expose));
            }

            var kubernetes = new KubernetesRegistration(request, cluster, exposed);
            if (request.Server is null)
            {
                // Without --server the broker is in the cluster: check what the LocalWorkload will name before reaching it.
                await kubernetes.PreflightAsync(stop).ConfigureAwait(false);
            }

            broker = await BrokerConnection.OpenAsync(request, () => kubernetes.Cluster.Client, reporter, backoff, stop).ConfigureAwait(false);
            await WriteEnvironmentAsync(request, broker, kubernetes, reporter, stop).ConfigureAwait(false);
            registration = broker.Info.Mode == "manifests" ? new ManifestsRegistration(request, manifestsNamespace, broker.Description, broker.Info.TokenRequired) : kubernetes;
            var hello = await registration.RegisterAsync(stop).ConfigureAwait(false);
            reporter.ManifestsMode = registration is ManifestsRegistration;
            if (registration is ManifestsRegistration && request.Previews.FirstOrDefault(p => p.Access == XdsControlPlane.Model.Preview.Personal) is { } personal)
            {
                // Without a cluster nobody's identity is recorded, so the authorization service opens a personal preview to no one.
                reporter.Warning($"--preview {personal.Port} is personal, and a manifests-mode control plane opens personal previews to no one (no recorded creator); use --preview {personal.Port}:shared or :public");
            }

            stateFile = new AgentStateFile(store, AgentStateFile.Starting(request, registration, broker.Description, identity, TimeProvider.System), TimeProvider.System);
            var status = new AgentStatus(TimeProvider.System);
            status.Welcomed += stateFile.Update;
            var stream = new AgentStream(broker.Link, broker.LaneLinks, status, reporter, new TunnelLimits(), new ReporterLogger(reporter));
            agent = new ReconnectingAgent(stream, new AgentFarewell(broker.Client), status, reporter, backoff, stateFile.Update)
            {
                Broker = broker.Description,
                Workload = $"{registration.Namespace}/{request.Name}",
                ManifestsMode = registration is ManifestsRegistration,
            };
            await agent.RunAsync(hello, new LocalDial(request.Ports, reporter), exposed, stop).ConfigureAwait(false);
            reporter.Disconnected(agent.SaidGoodbye
                ? "stopped; the broker withdrew the routes"
                : $"stopped while not connected; the broker withdrew the routes when it lost the stream and releases the workload when its reconnect grace ({status.ReconnectGrace.TotalSeconds:0.#} s) ends, or at once when the LocalWorkload is deleted");
            return ExitCodes.Ok;
        }
        finally
        {
            foreach (var listener in exposed)
            {
                listener.Dispose();
            }

            if (registration is not null && agent?.LostWorkload != true)
            {
                await registration.ReleaseAsync(reporter).ConfigureAwait(false);
            }

            stateFile?.Delete();
            if (broker is not null)
            {
                await broker.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>With <c>--env-file</c>: the environment of a baseline pod of the Service, written before the tunnel is up (a manifests-mode broker has no pods: exit 1).</summary>
    private static async Task WriteEnvironmentAsync(LocalConnectRequest request, BrokerConnection broker, KubernetesRegistration kubernetes, AgentReporter reporter, CancellationToken stop)
    {
        if (request.EnvFile is not { } path)
        {
            return;
        }

        if (broker.Info.Mode == "manifests")
        {
            throw new CliException(
                $"--env-file reads a pod of the Service from the cluster, but the tunnel broker at {broker.Description} runs in manifests mode (no cluster, no pods).",
                "Leave out --env-file, or connect to a control plane that runs with --kubernetes.",
                ExitCodes.UserError);
        }

        var (client, ns) = kubernetes.Cluster;
        reporter.Environment(await new PodEnvironment.BaselineEnvironment(client, ns).WriteAsync(path, request.Service, request.Container, stop).ConfigureAwait(false));
    }

    /// <summary>Preflight: something listens on localhost at each <c>--port</c> (exits 1 naming the port otherwise).</summary>
    private static async Task CheckServedPortsAsync(LocalConnectRequest request, CancellationToken stop)
    {
        foreach (var port in request.Ports)
        {
            if (!await LocalDial.IsListeningAsync(port.LocalPort, stop).ConfigureAwait(false))
            {
                throw new CliException(
                    $"nothing listens on localhost:{port.LocalPort} (--port {Spelled(port)}); start your service first.",
                    $"Start the service under development on port {port.LocalPort}, or point --port at the port it listens on.",
                    ExitCodes.UserError);
            }
        }
    }

    private static string Spelled(ServedPort port) => port.LocalPort == port.RemotePort ? $"{port.LocalPort}" : $"{port.LocalPort}:{port.RemotePort}";
}

/// <summary>The kubeconfig file and context an agent used, so <c>local disconnect --force</c> can clean up the same cluster.</summary>
internal sealed record ClusterIdentity(string? Kubeconfig, string? Context);
