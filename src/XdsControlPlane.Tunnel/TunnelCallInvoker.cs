using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The agent's call invoker: the tunnel's <c>Connect</c> stream goes out with <see cref="FrameCodec"/> (Data frames
/// parsed without zeroing their payload first), every other call as <paramref name="inner"/> makes it.
/// </summary>
public sealed class TunnelCallInvoker(CallInvoker inner) : CallInvoker
{
    /// <summary>A broker client on <paramref name="channel"/> whose <c>Connect</c> uses <see cref="FrameCodec"/>.</summary>
    public static TunnelBroker.TunnelBrokerClient ClientFor(ChannelBase channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return new TunnelBroker.TunnelBrokerClient(new TunnelCallInvoker(channel.CreateCallInvoker()));
    }

    /// <inheritdoc />
    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        ArgumentNullException.ThrowIfNull(method);
        return method.FullName == FrameCodec.Connect.FullName && FrameCodec.Connect is Method<TRequest, TResponse> connect
            ? inner.AsyncDuplexStreamingCall(connect, host, options)
            : inner.AsyncDuplexStreamingCall(method, host, options);
    }

    /// <inheritdoc />
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => inner.BlockingUnaryCall(method, host, options, request);

    /// <inheritdoc />
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => inner.AsyncUnaryCall(method, host, options, request);

    /// <inheritdoc />
    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => inner.AsyncServerStreamingCall(method, host, options, request);

    /// <inheritdoc />
    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) => inner.AsyncClientStreamingCall(method, host, options);
}
