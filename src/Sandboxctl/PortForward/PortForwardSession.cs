using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using k8s;
using Polly;

namespace Sandboxctl.PortForward;

/// <summary>
/// The listeners of a port-forward and their connections: each accepted connection gets its own port-forward
/// WebSocket to the tracker's current pod (retried with the backoff given while the pod is being replaced), until cancelled;
/// then the listeners close, every open connection is closed, and the session ends.
/// </summary>
internal sealed class PortForwardSession(IKubernetes client, string ns, ReadyPodTracker tracker, PortForwardLog log, TimeSpan podRunningTimeout, RetryBackoff backoff)
{
    private const string Protocol = "v4.channel.k8s.io";

    private readonly ResiliencePipeline _connect = backoff.Retry(
        new PredicateBuilder().Handle<WebSocketException>().Handle<HttpRequestException>().Handle<k8s.Autorest.HttpOperationException>(),
        maxRetryAttempts: 6);

    /// <summary>Accepts on every listener (with the index of its port mapping) until cancelled.</summary>
    public async Task RunAsync(IReadOnlyList<(TcpListener Listener, int Mapping)> listeners, CancellationToken cancellationToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tracking = tracker.RunAsync(stopping.Token);
        try
        {
            await Task.WhenAll(listeners.Select(l => AcceptAsync(l.Listener, l.Mapping, stopping.Token))).ConfigureAwait(false);
        }
        finally
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            foreach (var (listener, _) in listeners)
            {
                listener.Dispose();
            }

            try
            {
                await tracking.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task AcceptAsync(TcpListener listener, int mapping, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
                connections.RemoveAll(c => c.IsCompleted);
                connections.Add(ForwardAsync(socket, mapping, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(connections).ConfigureAwait(false);
        }
    }

    /// <summary>Forwards one local connection; its failures are reported, never thrown (the listener keeps going).</summary>
    private async Task ForwardAsync(Socket local, int mapping, CancellationToken cancellationToken)
    {
        using (local)
        {
            ForwardingPod? pod = null;
            try
            {
                var webSocket = await _connect.ExecuteAsync(
                    async token =>
                    {
                        pod = await tracker.CurrentAsync(token).WaitAsync(podRunningTimeout, token).ConfigureAwait(false);
                        try
                        {
                            return await client.WebSocketNamespacedPodPortForwardAsync(pod.Name, ns, [pod.Ports[mapping]], Protocol, cancellationToken: token).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            tracker.Suspect(pod);
                            throw;
                        }
                    },
                    cancellationToken).ConfigureAwait(false);

                var outcome = await new PortForwardConnection(local, webSocket).RunAsync(cancellationToken).ConfigureAwait(false);
                if (outcome.Error.Length > 0)
                {
                    log.Problem($"forwarding to pod {pod!.Name} port {pod.Ports[mapping]}: {outcome.Error}");
                }

                if (outcome.WebSocketFailed)
                {
                    tracker.Suspect(pod!);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping: the connection closes with the session.
            }
            catch (TimeoutException)
            {
                log.Problem($"no ready pod of {tracker.Target} within {podRunningTimeout.TotalSeconds:0} s; closed a connection to local port {((IPEndPoint)local.LocalEndPoint!).Port}.");
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException or k8s.Autorest.HttpOperationException)
            {
                log.Problem($"cannot forward to pod {pod?.Name}: {e.Message}");
            }
        }
    }
}
