using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using k8s;
using k8s.Models;
using Sandboxctl.PortForward;

namespace Sandboxctl.Local;

/// <summary>
/// The way to the tunnel broker when the laptop can reach only the API server: a loopback listener on a free port that
/// the agent's gRPC channel dials; each connection to it is forwarded (port-forward WebSocket, as
/// <c>kubectl port-forward</c>) to the broker port of a ready control-plane pod (labelled
/// <c>app.kubernetes.io/name=xds-control-plane</c>). When a forward fails the pod is looked up again for the next
/// connection, so a reconnecting agent follows the control plane to another replica.
/// </summary>
internal sealed class BrokerPortForward : IAsyncDisposable
{
    /// <summary>The label of the control plane's pods.</summary>
    public const string Selector = "app.kubernetes.io/name=xds-control-plane";

    private const string Protocol = "v4.channel.k8s.io";

    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly int _brokerPort;
    private readonly AgentReporter _reporter;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task _accepting = Task.CompletedTask;
    private string? _pod;

    private BrokerPortForward(IKubernetes client, string ns, int brokerPort, AgentReporter reporter, string pod)
    {
        _client = client;
        _namespace = ns;
        _brokerPort = brokerPort;
        _reporter = reporter;
        _pod = pod;
        _listener = new TcpListener(IPAddress.Loopback, 0);
    }

    /// <summary>The loopback address to dial (<c>127.0.0.1:PORT</c>).</summary>
    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>The pod forwarded to now, for messages.</summary>
    public string Description => $"port-forward to {_namespace}/{_pod}:{_brokerPort}";

    /// <summary>Finds a ready control-plane pod (exits 2 naming the namespace when there is none) and starts listening.</summary>
    public static async Task<BrokerPortForward> StartAsync(IKubernetes client, string ns, int brokerPort, AgentReporter reporter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var pod = await FindPodAsync(client, ns, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(
                $"no ready control-plane pod ({Selector}) in namespace {ns} to reach the tunnel broker through.",
                $"Check: kubectl get pods -n {ns} -l {Selector}; pass --control-plane-namespace, or --server HOST:PORT for a direct address.",
                ExitCodes.ConnectionError);
        var forward = new BrokerPortForward(client, ns, brokerPort, reporter, pod);
        forward._listener.Start();
        forward._accepting = forward.AcceptAsync(forward._stopping.Token);
        return forward;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static async Task<string?> FindPodAsync(IKubernetes client, string ns, CancellationToken cancellationToken)
    {
        V1PodList pods;
        try
        {
            pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: Selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            throw new CliException(
                $"cannot list the control-plane pods in {ns}: the cluster answered {(int)e.Response.StatusCode} {e.Response.StatusCode}.",
                $"Check your permissions: kubectl auth can-i list pods -n {ns}; kubectl auth can-i create pods/portforward -n {ns}",
                ExitCodes.ConnectionError);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError);
        }

        return pods.Items.Where(PortForwardTargetResolver.IsReady)
            .OrderBy(p => p.Metadata.CreationTimestamp)
            .ThenBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .FirstOrDefault()?.Metadata.Name;
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
                connections.RemoveAll(c => c.IsCompleted);
                connections.Add(ForwardAsync(socket, cancellationToken));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(connections).ConfigureAwait(false);
        }
    }

    /// <summary>Forwards one connection of the agent's channel; failures close it (the agent reconnects) and are never thrown.</summary>
    private async Task ForwardAsync(Socket local, CancellationToken cancellationToken)
    {
        using (local)
        {
            string? pod = null;
            try
            {
                lock (_gate)
                {
                    pod = _pod;
                }

                pod ??= await FindPodAsync(_client, _namespace, cancellationToken).ConfigureAwait(false);
                if (pod is null)
                {
                    _reporter.Warning($"no ready control-plane pod ({Selector}) in {_namespace}; the agent keeps trying");
                    return;
                }

                lock (_gate)
                {
                    _pod = pod;
                }

                var webSocket = await _client.WebSocketNamespacedPodPortForwardAsync(pod, _namespace, [_brokerPort], Protocol, cancellationToken: cancellationToken).ConfigureAwait(false);
                var outcome = await new PortForwardConnection(local, webSocket).RunAsync(cancellationToken).ConfigureAwait(false);
                if (outcome.WebSocketFailed || outcome.Error.Length > 0)
                {
                    Forget(pod);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException or k8s.Autorest.HttpOperationException or CliException)
            {
                if (pod is not null)
                {
                    Forget(pod);
                }

                _reporter.Warning($"cannot port-forward to the control plane{(pod is null ? "" : $" pod {_namespace}/{pod}")}: {e.Message}");
            }
        }
    }

    private void Forget(string pod)
    {
        lock (_gate)
        {
            if (_pod == pod)
            {
                _pod = null;
            }
        }
    }
}
