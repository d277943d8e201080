using Grpc.Core;
using Grpc.Net.Client;
using k8s;
using Polly;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// The agent's way to the tunnel broker: <c>--server</c>, else a port-forward through the API server; the gRPC channel
/// over it; and what the broker said it is (Describe, retried a few times with backoff), checked to speak a protocol
/// version this sandboxctl speaks. Lanes (protocol version 2) get channels of their own, each its own HTTP/2 connection
/// to the same address, made when a lane first calls; without TLS a lane goes as a raw lane (<see cref="RawLane"/>: a
/// plain TCP connection to the same address) when the broker offers them. Each connection's socket has a
/// <see cref="BurstCork"/>, which the writer of the stream on it uses to send a burst of Data frames together.
/// </summary>
internal sealed class BrokerConnection : IAsyncDisposable
{
    private const int DescribeAttempts = 3;
    private static readonly TimeSpan DescribeTimeout = TimeSpan.FromSeconds(5);

    private readonly GrpcChannel _channel;
    private readonly GrpcChannel[] _laneChannels;
    private readonly BrokerPortForward? _forward;

    private BrokerConnection(string address, BrokerTls? tls, BrokerPortForward? forward, string description)
    {
        var cork = new BurstCork();
        _channel = Channel(address, tls, cork);
        var laneCorks = Enumerable.Range(0, new TunnelLimits().MaxLanes).Select(_ => new BurstCork()).ToArray();
        _laneChannels = [.. laneCorks.Select(c => Channel(address, tls, c))];
        _forward = forward;
        Description = description;
        Client = TunnelCallInvoker.ClientFor(_channel);
        Link = new AgentLink(Client, cork);
        // Raw lanes are plaintext: offered to an agent that reaches the broker without TLS (its own, or the port-forward's).
        Func<CancellationToken, Task<Stream>>? openRaw = tls is null ? token => RawLane.ConnectAsync(address, token) : null;
        LaneLinks = [.. _laneChannels.Select((channel, i) => new AgentLink(TunnelCallInvoker.ClientFor(channel), laneCorks[i], openRaw))];
    }

    /// <summary>The broker for messages: its address, or <c>port-forward to NAMESPACE/POD:PORT</c>.</summary>
    public string Description { get; }

    /// <summary>The broker's client.</summary>
    public TunnelBroker.TunnelBrokerClient Client { get; }

    /// <summary>The broker's client with the cork of its connection, for the agent's stream.</summary>
    public AgentLink Link { get; }

    /// <summary>The links for lanes, one HTTP/2 connection each (they connect only when a lane is opened).</summary>
    public IReadOnlyList<AgentLink> LaneLinks { get; }

    /// <summary>What the broker said it is.</summary>
    public BrokerInfo Info { get; private set; } = new();

    /// <summary>
    /// Reaches the broker of <paramref name="request"/> (<paramref name="cluster"/> gives the kube client for the
    /// port-forward) and asks what it is; exits 2 when it cannot be reached, 1 when it speaks no version in common.
    /// </summary>
    public static async Task<BrokerConnection> OpenAsync(LocalConnectRequest request, Func<IKubernetes> cluster, AgentReporter reporter, RetryBackoff backoff, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(cluster);
        BrokerPortForward? forward = null;
        BrokerConnection? connection = null;
        try
        {
            string address;
            if (request.Server is { } server)
            {
                address = server;
            }
            else
            {
                forward = await BrokerPortForward.StartAsync(cluster(), request.ControlPlaneNamespace, LocalConnectRequest.DefaultBrokerPort, reporter, stop).ConfigureAwait(false);
                address = forward.Address;
            }

            connection = new BrokerConnection(address, request.Tls, forward, forward?.Description ?? address);
            forward = null;
            connection.Info = await connection.DescribeAsync(backoff, stop).ConfigureAwait(false);
            connection.CheckVersions();
            var opened = connection;
            connection = null;
            return opened;
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            if (forward is not null)
            {
                await forward.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        foreach (var lane in _laneChannels)
        {
            lane.Dispose();
        }

        if (_forward is not null)
        {
            await _forward.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void CheckVersions()
    {
        var agent = TunnelProtocol.Versions;
        if (agent.HighestShared(new TunnelVersions(Info.MinVersion, Info.MaxVersion)) is null)
        {
            throw new CliException(
                $"the tunnel broker at {Description} speaks protocol versions {Info.MinVersion}-{Info.MaxVersion}; this sandboxctl speaks {agent}.",
                "Upgrade sandboxctl (or the control plane) so their tunnel protocol versions overlap.",
                ExitCodes.UserError);
        }
    }

    private async Task<BrokerInfo> DescribeAsync(RetryBackoff backoff, CancellationToken stop)
    {
        var retry = backoff.Retry(
            new PredicateBuilder().Handle<RpcException>(e => e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown && !stop.IsCancellationRequested),
            maxRetryAttempts: DescribeAttempts - 1);
        var attempts = 0;
        try
        {
            return await retry.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    return await Client.DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow + DescribeTimeout, cancellationToken: token).ConfigureAwait(false);
                },
                stop).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            throw new CliException($"{Description} is not a tunnel broker: {e.Status.Detail}", "Point --server at the control plane's tunnel port (default 18001), not its xDS or admin port.", ExitCodes.ConnectionError);
        }
        catch (RpcException) when (stop.IsCancellationRequested)
        {
            // Ctrl+C while reaching the broker: a clean stop, not a failure.
            throw new OperationCanceledException(stop);
        }
        catch (RpcException e)
        {
            throw new CliException(
                $"cannot reach the tunnel broker at {Description} after {attempts} attempts: {e.StatusCode}: {e.Status.Detail}",
                "Check that the control plane runs with its tunnel port open (--tunnel-port, default 18001) and that --server names it.",
                ExitCodes.ConnectionError);
        }
    }

    private static GrpcChannel Channel(string address, BrokerTls? tls, BurstCork cork) => GrpcChannel.ForAddress($"{(tls is null ? "http" : "https")}://{address}", new GrpcChannelOptions
    {
        HttpHandler = tls is null ? TunnelHttp2.AgentHandler(cork) : tls.Apply(TunnelHttp2.AgentHandler(cork)),
        MaxReceiveMessageSize = 4 * 1024 * 1024,
    });
}
