using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Binds <see cref="TunnelBrokerService"/> as the generated <c>TunnelBroker.BindService</c> does, with the tunnel's own
/// frame codec (<see cref="FrameCodec"/>) on <c>Connect</c>. The wire format is the same: any gRPC client speaks to it.
/// </summary>
public static class TunnelBrokerBinding
{
    private static readonly Marshaller<DescribeRequest> DescribeRequests = Marshallers.Create<DescribeRequest>(FrameCodec.Serialize, context => DescribeRequest.Parser.ParseFrom(context.PayloadAsReadOnlySequence()));
    private static readonly Marshaller<BrokerInfo> BrokerInfos = Marshallers.Create<BrokerInfo>(FrameCodec.Serialize, context => BrokerInfo.Parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    /// <summary>The <c>Describe</c> method.</summary>
    public static readonly Method<DescribeRequest, BrokerInfo> Describe = new(MethodType.Unary, TunnelBroker.Descriptor.FullName, "Describe", DescribeRequests, BrokerInfos);

    /// <summary>
    /// Adds the broker's methods to <paramref name="binder"/> (the service may be null while gRPC discovers the methods).
    /// The service is typed as the generated base: gRPC finds each handler as the override of that base's method.
    /// </summary>
    public static void BindService(ServiceBinderBase binder, TunnelBroker.TunnelBrokerBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(FrameCodec.Connect, service is null ? null : service.Connect);
        binder.AddMethod(Describe, service is null ? null : service.Describe);
    }
}
