using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Prometheus;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// With client certificates on the xDS listener: holds each xDS stream's first request — the one that carries the
/// node — against the client certificate's identity (<see cref="NodeIdentityPolicy"/>) before the stream is served.
/// The node's group comes from the server's own <see cref="INodeGroupResolver"/>, so what is checked is what would be
/// served. A refusal ends the stream with PERMISSION_DENIED naming what was asked and who asked, is counted in
/// <c>xds_node_identity_refusals_total</c> and logged. Other gRPC methods pass untouched.
/// </summary>
internal sealed class NodeIdentityInterceptor(NodeIdentityPolicy policy, INodeGroupResolver groups, NodeIdentityMetrics metrics, ILogger<NodeIdentityInterceptor> logger) : Interceptor
{
    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        if (typeof(TRequest) != typeof(DiscoveryRequest) && typeof(TRequest) != typeof(DeltaDiscoveryRequest))
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
            return;
        }

        try
        {
            if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                return; // ended before asking for anything
            }
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request is not a valid {typeof(TRequest).Name}: {e.Message}"));
        }

        var first = requestStream.Current;
        if (NodeOf(first) is { } node)
        {
            var certificate = context.GetHttpContext().Connection.ClientCertificate;
            var group = groups.GroupOf(node);
            if (policy.Check(Printable(node.Id), group, certificate) is { } refusal)
            {
                metrics.Refused(group, refusal.Reason);
                ListenerTlsLog.NodeRefused(logger, refusal.Reason, refusal.Message);
                throw new RpcException(new Status(StatusCode.PermissionDenied, refusal.Message));
            }
        }

        await continuation(new Replayed<TRequest>(first, requestStream), responseStream, context).ConfigureAwait(false);
    }

    private static Node? NodeOf<TRequest>(TRequest request) => request switch
    {
        DiscoveryRequest sotw => sotw.Node,
        DeltaDiscoveryRequest delta => delta.Node,
        _ => null,
    };

    private static string Printable(string id) => new([.. id.Take(128).Select(c => char.IsControl(c) ? '?' : c)]);

    /// <summary>The stream with its first message read ahead given back first.</summary>
    private sealed class Replayed<T>(T first, IAsyncStreamReader<T> rest) : IAsyncStreamReader<T>
    {
        private bool _firstGiven;
        private bool _onFirst;

        public T Current => _onFirst ? first : rest.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!_firstGiven)
            {
                _firstGiven = true;
                _onFirst = true;
                return Task.FromResult(true);
            }

            _onFirst = false;
            return rest.MoveNext(cancellationToken);
        }
    }
}

/// <summary>The node identity metric: xDS streams refused because the client's identity may not take the node's role.</summary>
internal sealed class NodeIdentityMetrics
{
    private readonly Counter _refused;

    /// <summary>Registers the metric in <paramref name="registry"/> (the process-wide default when null).</summary>
    public NodeIdentityMetrics(CollectorRegistry? registry = null) =>
        _refused = Metrics.WithCustomRegistry(registry ?? Metrics.DefaultRegistry)
            .CreateCounter("xds_node_identity_refusals_total", "xDS streams refused because the client certificate's identity may not receive the configuration of the node's group, by group and reason (no_spiffe_id, trust_domain, role).", "group", "reason");

    /// <summary>Counts one refusal.</summary>
    public void Refused(string group, string reason) => _refused.WithLabels(group, reason).Inc();
}
