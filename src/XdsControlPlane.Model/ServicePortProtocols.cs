namespace XdsControlPlane.Model;

/// <summary>How a Service port is carried.</summary>
public enum PortProtocol
{
    /// <summary>HTTP/1.1 (or HTTP/2 negotiated by the client).</summary>
    Http,

    /// <summary>gRPC or h2c: HTTP/2 to the upstream.</summary>
    Http2,

    /// <summary>Declared TCP: passed through, reachable by CONNECT at gateways.</summary>
    Tcp,

    /// <summary>Undeclared: sidecars sniff for HTTP, others treat it as HTTP.</summary>
    Unknown,
}

/// <summary>Classifies Service ports, Istio-style: <c>appProtocol</c> first, then the port name's prefix.</summary>
public static class PortProtocols
{
    /// <summary>How <paramref name="port"/> is carried, from its <c>appProtocol</c>, else its name's prefix.</summary>
    public static PortProtocol Of(KubeServicePort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        var hint = (port.AppProtocol ?? port.Name ?? "").ToLowerInvariant();
        var prefix = hint.Split('-', 2)[0];
        return prefix switch
        {
            "grpc" or "grpc-web" or "http2" or "h2c" or "kubernetes.io/h2c" => PortProtocol.Http2,
            "http" or "https" or "kubernetes.io/ws" or "kubernetes.io/wss" => PortProtocol.Http,
            "tcp" or "tls" or "mongo" or "mysql" or "redis" or "postgres" or "postgresql" => PortProtocol.Tcp,
            _ => PortProtocol.Unknown,
        };
    }

    /// <summary>Ports that carry HTTP requests (and so can be routed by key).</summary>
    public static bool IsHttp(this PortProtocol protocol) => protocol is not PortProtocol.Tcp;
}
