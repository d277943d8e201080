using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Prometheus;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// With client certificates or token review on the xDS listener: holds each xDS stream's first request — the one that
/// carries the node — against the client's identity (<see cref="NodeIdentityCheck"/>: the certificate's SPIFFE ID, the
/// ServiceAccount token's) before the stream is served. The node's group comes from the server's own
/// <see cref="INodeGroupResolver"/>, so what is checked is what would be served. A refusal ends the stream with
/// PERMISSION_DENIED naming what was asked and who asked (UNAVAILABLE when a token could not be reviewed), is counted in
/// <c>xds_node_identity_refusals_total</c> and logged (UNAVAILABLE by the token verifier, once per interval). Other gRPC
/// methods pass untouched.
/// </summary>
internal sealed class NodeIdentityInterceptor(NodeIdentityCheck check, INodeGroupResolver groups, NodeIdentityMetrics metrics, ILogger<NodeIdentityInterceptor> logger) : Interceptor
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
        catch (IOException)
        {
            return; // the client reset the stream before its first request (Kestrel fails the read before it cancels the call)
        }

        var first = requestStream.Current;
        if (NodeOf(first) is { } node)
        {
            var certificate = context.GetHttpContext().Connection.ClientCertificate;
            var group = groups.GroupOf(node);
            var authorization = context.RequestHeaders.Where(entry => entry.Key == ServiceAccountToken.MetadataKey && !entry.IsBinary).Select(entry => entry.Value).ToArray();
            if (await check.CheckAsync(Printable(node.Id), group, certificate, authorization, context.CancellationToken).ConfigureAwait(false) is { } refused)
            {
                var refusal = refused.Refusal;
                metrics.Refused(group, refusal.Reason);
                if (refused.Status == StatusCode.PermissionDenied)
                {
                    ListenerTlsLog.NodeRefused(logger, refusal.Reason, refusal.Message);
                }

                throw new RpcException(new Status(refused.Status, refusal.Message));
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

/// <summary>The node identity metrics: xDS streams refused because the client's identity may not take the node's role, and token verdicts.</summary>
internal sealed class NodeIdentityMetrics
{
    private readonly Counter _refused;
    private readonly Counter _reviews;

    /// <summary>Registers the metrics in <paramref name="registry"/> (the process-wide default when null).</summary>
    public NodeIdentityMetrics(CollectorRegistry? registry = null)
    {
        var factory = Metrics.WithCustomRegistry(registry ?? Metrics.DefaultRegistry);
        _refused = factory.CreateCounter("xds_node_identity_refusals_total", "xDS streams refused because the client's identity (client certificate, ServiceAccount token) may not receive the configuration of the node's group, by group and reason (no_spiffe_id, trust_domain, role, token_invalid, token_not_service_account, token_review_failed, identity_mismatch, no_identity).", "group", "reason");
        _reviews = factory.CreateCounter("xds_token_reviews_total", "ServiceAccount token verdicts on the xDS listener by result: cached (no TokenReview sent), authenticated, refused, failed (the API server did not answer).", "result");
    }

    /// <summary>Counts one refusal.</summary>
    public void Refused(string group, string reason) => _refused.WithLabels(group, reason).Inc();

    /// <summary>Counts one token verdict by where it came from: <c>cached</c>, or a review that ended <c>authenticated</c>, <c>refused</c> or <c>failed</c>.</summary>
    public void Reviewed(string result) => _reviews.WithLabels(result).Inc();
}
