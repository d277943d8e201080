using Grpc.Core;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The call context of a raw lane (<see cref="RawLane"/>) served as the broker's <c>Connect</c>: the connection's peer
/// in gRPC's form (<c>ipv4:1.2.3.4:5</c>, so the per-connection and per-address limits count it as they count an HTTP/2
/// connection), cancelled when the connection closes. A plaintext connection: no authentication, no headers.
/// </summary>
internal sealed class RawLaneCallContext(string peer, CancellationToken connectionClosed) : ServerCallContext
{
    private readonly Metadata _trailers = [];

    protected override string MethodCore => "/sandboxctl.tunnel.v1.TunnelBroker/Connect";

    protected override string HostCore => "";

    protected override string PeerCore => peer;

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore => connectionClosed;

    protected override Metadata ResponseTrailersCore => _trailers;

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("a raw lane propagates no call context");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
