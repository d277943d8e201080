using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Net.Client;
using k8s;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// <c>sandboxctl local connect</c> from start to end: preflight (each <c>--port</c> listening, each <c>--expose</c>
/// port free), the way to the broker (<c>--server</c>, else a port-forward through the API server), Describe (with a
/// short bounded retry), the LocalWorkload (Kubernetes mode: created with the developer's credentials and a fresh
/// secret's hash; manifests mode: the spec goes in Hello), then the reconnecting tunnel until Ctrl+C or SIGTERM,
/// and the cleanup: Goodbye, the LocalWorkload deleted, the state file removed.
/// </summary>
internal sealed class LocalConnect(CliOutput cli, ReportStyle style, AgentStateStore store)
{
    private const int DescribeAttempts = 3;
    private static readonly TimeSpan DescribeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(10);

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

        var exposed = new List<ExposedListener>();
        BrokerPortForward? forward = null;
        GrpcChannel? channel = null;
        (IKubernetes Client, string Namespace)? kube = null;
        LocalWorkloadRegistration? registration = null;
        string? registeredHash = null;
        var agent = (ReconnectingAgent?)null;
        var state = new AgentState();
        try
        {
            foreach (var expose in request.Exposed)
            {
                exposed.Add(ExposedListener.Listen(expose));
            }

            // Without --server the broker is in the cluster: check what the LocalWorkload will name before reaching it.
            IReadOnlyList<XdsControlPlane.Model.LocalPort>? checkedPorts = null;
            if (request.Server is null)
            {
                kube = cluster();
                checkedPorts = await new LocalWorkloadRegistration(kube.Value.Client, kube.Value.Namespace, request.Name)
                    .PreflightAsync(request.Service, request.Ports, request.Sandbox, exposed, stop).ConfigureAwait(false);
            }

            string address;
            if (request.Server is { } server)
            {
                address = server;
            }
            else
            {
                forward = await BrokerPortForward.StartAsync(kube!.Value.Client, request.ControlPlaneNamespace, LocalConnectRequest.DefaultBrokerPort, reporter, stop).ConfigureAwait(false);
                address = forward.Address;
            }

            var broker = forward?.Description ?? address;
            channel = Channel(address);
            var client = new TunnelBroker.TunnelBrokerClient(channel);
            var info = await DescribeAsync(client, broker, stop).ConfigureAwait(false);
            if (info.MinVersion > 1 || info.MaxVersion < 1)
            {
                throw new CliException(
                    $"the tunnel broker at {broker} speaks protocol versions {info.MinVersion}-{info.MaxVersion}; this sandboxctl speaks 1.",
                    "Upgrade sandboxctl (or the control plane) so their tunnel protocol versions overlap.",
                    ExitCodes.UserError);
            }

            var manifestsMode = info.Mode == "manifests";
            var secret = request.Token ?? "";
            string ns;
            Hello hello;
            if (manifestsMode)
            {
                if (info.TokenRequired && request.Token is null)
                {
                    throw new CliException($"the tunnel broker at {broker} needs a token.", "Pass the token the control plane was started with: --token TOKEN.", ExitCodes.UserError);
                }

                ns = manifestsNamespace ?? "default";
                hello = HelloFor(request, ns, secret);
                hello.Spec = new XdsControlPlane.Tunnel.Protocol.LocalWorkloadSpec
                {
                    Sandbox = request.Sandbox ?? "",
                    RoutingKey = request.RoutingKey ?? "",
                    Service = request.Service,
                    Ports = { request.Ports.Select(p => (uint)p.RemotePort) },
                    Expose = { request.Exposed.Select(e => e.Target) },
                };
            }
            else
            {
                kube ??= cluster();
                ns = kube.Value.Namespace;
                secret = Base64Url(RandomNumberGenerator.GetBytes(32));
                var candidate = new LocalWorkloadRegistration(kube.Value.Client, ns, request.Name);
                var ports = checkedPorts ?? await candidate.PreflightAsync(request.Service, request.Ports, request.Sandbox, exposed, stop).ConfigureAwait(false);
                registeredHash = XdsControlPlane.Model.LocalWorkload.HashSecret(secret);
                await candidate.CreateAsync(request.Service, request.Sandbox, request.RoutingKey, ports, [.. request.Exposed.Select(e => e.Target)], registeredHash, request.Force, stop).ConfigureAwait(false);
                registration = candidate;
                hello = HelloFor(request, ns, secret);

                // The LocalWorkload carries the rest; the broker reads the Services the agent may reach from here.
                hello.Spec = new XdsControlPlane.Tunnel.Protocol.LocalWorkloadSpec { Expose = { request.Exposed.Select(e => e.Target) } };
            }

            var status = new AgentStatus(TimeProvider.System);
            state = new AgentState
            {
                Pid = Environment.ProcessId,
                Name = request.Name,
                Namespace = ns,
                Service = request.Service,
                Mode = manifestsMode ? "manifests" : "kubernetes",
                Server = broker,
                Kubeconfig = manifestsMode ? null : identity.Kubeconfig,
                Context = manifestsMode ? null : identity.Context,
                Started = DateTimeOffset.UtcNow,
            };
            store.Write(state);
            var limits = new TunnelLimits();
            var stream = new AgentStream(client, status, reporter, limits, new ReporterLogger(reporter));
            agent = new ReconnectingAgent(stream, status, reporter, new ReconnectBackoff(Random.Shared), snapshot => WriteState(state, snapshot))
            {
                Broker = broker,
                Workload = $"{ns}/{request.Name}",
                ManifestsMode = manifestsMode,
            };
            await agent.RunAsync(hello, new LocalDial(request.Ports, reporter), exposed, stop).ConfigureAwait(false);
            reporter.Disconnected(agent.SaidGoodbye ? "stopped; the broker withdrew the routes" : "stopped while not connected; the broker withdraws the routes when its reconnect grace (30 s) ends, or at once when the LocalWorkload is deleted");
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
                using var cleanup = new CancellationTokenSource(CleanupTimeout);
                try
                {
                    if (!await registration.DeleteAsync(cleanup.Token, onlyWithHash: registeredHash).ConfigureAwait(false))
                    {
                        reporter.Warning($"LocalWorkload {registration.Namespace}/{registration.Name} was taken over by another agent (--force); left it in place");
                    }
                }
                catch (Exception e) when (e is CliException or OperationCanceledException)
                {
                    reporter.Warning($"could not delete LocalWorkload {registration.Namespace}/{registration.Name}: {e.Message} (sandboxctl local disconnect {registration.Name} --force retries)");
                }
            }

            if (state.Pid != 0)
            {
                store.Delete(state.Namespace, state.Name);
            }

            channel?.Dispose();
            if (forward is not null)
            {
                await forward.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private void WriteState(AgentState state, AgentSnapshot snapshot)
    {
        try
        {
            store.Write(state with
            {
                ConnectedSince = snapshot.ConnectedSince,
                LastHeartbeat = snapshot.HeartbeatAge is { } age ? DateTimeOffset.UtcNow - age : null,
                RoutingKey = snapshot.RoutingKey,
                ActiveConnections = snapshot.ActiveConnections,
                BytesIn = snapshot.BytesIn,
                BytesOut = snapshot.BytesOut,
                Updated = DateTimeOffset.UtcNow,
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // local status shows the file's age; a full disk must not stop the tunnel.
        }
    }

    private static Hello HelloFor(LocalConnectRequest request, string ns, string secret) => new()
    {
        MinVersion = 1,
        MaxVersion = 1,
        AgentVersion = typeof(LocalConnect).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
        Namespace = ns,
        LocalWorkload = request.Name,
        Secret = secret,
        InitialWindow = (uint)new TunnelLimits().ReceiveWindow,
        SessionId = SessionId,
    };

    /// <summary>Random per agent process, the same across its reconnects.</summary>
    private static readonly string SessionId = Guid.NewGuid().ToString("N");

    private static async Task<BrokerInfo> DescribeAsync(TunnelBroker.TunnelBrokerClient client, string broker, CancellationToken stop)
    {
        var backoff = new ReconnectBackoff(Random.Shared);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await client.DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow + DescribeTimeout, cancellationToken: stop).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown && attempt < DescribeAttempts && !stop.IsCancellationRequested)
            {
                await Task.Delay(backoff.Delay(attempt), stop).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
            {
                throw new CliException($"{broker} is not a tunnel broker: {e.Status.Detail}", "Point --server at the control plane's tunnel port (default 18001), not its xDS or admin port.", ExitCodes.ConnectionError);
            }
            catch (RpcException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C while reaching the broker: a clean stop, not a failure.
                throw new OperationCanceledException(stop);
            }
            catch (RpcException e)
            {
                throw new CliException(
                    $"cannot reach the tunnel broker at {broker} after {attempt} attempts: {e.StatusCode}: {e.Status.Detail}",
                    "Check that the control plane runs with its tunnel port open (--tunnel-port, default 18001) and that --server names it.",
                    ExitCodes.ConnectionError);
            }
        }
    }

    private static GrpcChannel Channel(string address) => GrpcChannel.ForAddress($"http://{address}", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
        },
        MaxReceiveMessageSize = 4 * 1024 * 1024,
    });

    private static string Spelled(ServedPort port) => port.LocalPort == port.RemotePort ? $"{port.LocalPort}" : $"{port.LocalPort}:{port.RemotePort}";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>The kubeconfig file and context an agent used, so <c>local disconnect --force</c> can clean up the same cluster.</summary>
internal sealed record ClusterIdentity(string? Kubeconfig, string? Context);
