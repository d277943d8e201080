using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace XdsControlPlane.Testing;

/// <summary>
/// The pods' <c>portforward</c> subresource over WebSocket (<c>v4.channel.k8s.io</c>), as the API server and kubelet
/// speak it: for the i-th requested port, channel 2i carries data and 2i+1 errors; the first frame on each channel
/// is the port (2 bytes, little-endian); every frame starts with its channel byte. Each pod port is a loopback
/// backend the test chooses (<see cref="SetPodBackend"/>); a port without one gets a message on its error channel,
/// as a port nothing listens on does. When the backend closes, the WebSocket closes.
/// </summary>
internal sealed partial class FakeApiServer
{
    private const string PortForwardProtocol = "v4.channel.k8s.io";

    private readonly Dictionary<(string Namespace, string Pod, int Port), IPEndPoint> _podBackends = [];
    private readonly List<(string Namespace, string Pod, HttpContext Context)> _portForwards = [];

    private readonly List<string> _portForwardRequests = [];

    /// <summary>Every port-forward WebSocket accepted so far, by pod name (a copy taken under the lock: the server adds to it while a test reads).</summary>
    public List<string> PortForwardRequests
    {
        get
        {
            lock (_gate)
            {
                return [.. _portForwardRequests];
            }
        }
    }

    /// <summary>Connections to <paramref name="port"/> of the pod go to <paramref name="backend"/>.</summary>
    public void SetPodBackend(string ns, string pod, int port, IPEndPoint backend)
    {
        lock (_gate)
        {
            _podBackends[(ns, pod, port)] = backend;
        }
    }

    /// <summary>Cuts the open port-forward WebSockets of a pod, as its kubelet does when the pod dies.</summary>
    public void ClosePortForwards(string ns, string pod)
    {
        List<HttpContext> open;
        lock (_gate)
        {
            open = [.. _portForwards.Where(f => f.Namespace == ns && f.Pod == pod).Select(f => f.Context)];
        }

        foreach (var context in open)
        {
            context.Abort();
        }
    }

    /// <summary>The open port-forward WebSockets of a pod.</summary>
    public int OpenPortForwards(string ns, string pod)
    {
        lock (_gate)
        {
            return _portForwards.Count(f => f.Namespace == ns && f.Pod == pod);
        }
    }

    partial void MapSubresources(WebApplication app) =>
        app.MapGet("/api/v1/namespaces/{ns}/pods/{name}/portforward", (string ns, string name, HttpContext context) => PortForwardAsync(ns, name, context));

    private async Task PortForwardAsync(string ns, string name, HttpContext context)
    {
        var pod = Get(Pods, ns, name);
        if (pod is null)
        {
            await WriteAsync(context, NotFound(Pods, name));
            return;
        }

        if ((string?)pod["status"]?["phase"] != "Running" || !context.WebSockets.IsWebSocketRequest
            || !context.WebSockets.WebSocketRequestedProtocols.Contains(PortForwardProtocol))
        {
            await WriteAsync(context, (400, Status(400, "BadRequest", $"pod {name} is not running, or not a {PortForwardProtocol} WebSocket")));
            return;
        }

        var ports = context.Request.Query["ports"].SelectMany(p => p!.Split(',')).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        using var webSocket = await context.WebSockets.AcceptWebSocketAsync(PortForwardProtocol);
        var entry = (ns, name, context);
        lock (_gate)
        {
            _portForwardRequests.Add(name);
            _portForwards.Add(entry);
        }

        try
        {
            await new PortForwardStream(webSocket, ports, port => Backend(ns, name, port), context.RequestAborted).RunAsync();
        }
        catch (Exception e) when (e is WebSocketException or IOException or SocketException or OperationCanceledException)
        {
            // The client went away, or the test cut the pod's connections.
        }
        finally
        {
            lock (_gate)
            {
                _portForwards.Remove(entry);
            }
        }
    }

    private IPEndPoint? Backend(string ns, string pod, int port)
    {
        lock (_gate)
        {
            return _podBackends.GetValueOrDefault((ns, pod, port));
        }
    }

    /// <summary>One port-forward WebSocket: the port headers, then bytes between its channels and the backends.</summary>
    private sealed class PortForwardStream(WebSocket webSocket, int[] ports, Func<int, IPEndPoint?> backendOf, CancellationToken cancellationToken)
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public async Task RunAsync()
        {
            var backends = new Socket?[ports.Length];
            try
            {
                for (var i = 0; i < ports.Length; i++)
                {
                    var header = new byte[2];
                    BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)ports[i]);
                    await SendAsync((byte)(2 * i), header);
                    await SendAsync((byte)((2 * i) + 1), header);
                    backends[i] = await ConnectAsync(i);
                }

                var fromBackends = backends.Select((b, i) => b is null ? Task.CompletedTask : FromBackendAsync(b, i)).ToArray();
                var toBackends = ToBackendsAsync(backends);
                await Task.WhenAny(Task.WhenAll(fromBackends), toBackends);

                // A backend that ends its side ends the stream, as the kubelet closes it.
                if (webSocket.State == WebSocketState.Open)
                {
                    await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cancellationToken);
                }
            }
            finally
            {
                foreach (var backend in backends)
                {
                    backend?.Dispose();
                }
            }
        }

        private async Task<Socket?> ConnectAsync(int index)
        {
            if (backendOf(ports[index]) is not { } endpoint)
            {
                await SendAsync((byte)((2 * index) + 1), Encoding.UTF8.GetBytes($"error forwarding port {ports[index]} to pod: failed to connect to localhost:{ports[index]}: connection refused"));
                return null;
            }

            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endpoint, cancellationToken);
            return socket;
        }

        /// <summary>Frames from the client: the channel byte, then bytes for that port's backend.</summary>
        private async Task ToBackendsAsync(Socket?[] backends)
        {
            var buffer = new byte[1 << 20];
            while (true)
            {
                var result = await webSocket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (result.Count == 0)
                {
                    continue;
                }

                var channel = buffer[0];
                var count = result.Count;
                var data = buffer.AsMemory(1, count - 1);
                while (true)
                {
                    if (channel % 2 == 0 && channel / 2 < backends.Length && backends[channel / 2] is { } backend)
                    {
                        await backend.SendAsync(data, cancellationToken);
                    }

                    if (result.EndOfMessage)
                    {
                        break;
                    }

                    result = await webSocket.ReceiveAsync(buffer, cancellationToken);
                    data = buffer.AsMemory(0, result.Count);
                }
            }
        }

        private async Task FromBackendAsync(Socket backend, int index)
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await backend.ReceiveAsync(buffer.AsMemory(1), cancellationToken)) > 0)
            {
                buffer[0] = (byte)(2 * index);
                await SendFrameAsync(buffer.AsMemory(0, read + 1));
            }
        }

        private Task SendAsync(byte channel, byte[] payload) => SendFrameAsync((byte[])[channel, .. payload]);

        private async Task SendFrameAsync(ReadOnlyMemory<byte> frame)
        {
            await _send.WaitAsync(cancellationToken);
            try
            {
                await webSocket.SendAsync(frame, WebSocketMessageType.Binary, true, cancellationToken);
            }
            finally
            {
                _send.Release();
            }
        }
    }
}
