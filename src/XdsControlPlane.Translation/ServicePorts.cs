using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>How a Service port is carried.</summary>
internal enum PortProtocol
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

/// <summary>One port of one Service: the unit clusters, virtual hosts and gRPC listeners are made for.</summary>
internal sealed record ServicePortId(string Namespace, string Service, int Port)
{
    // Used as a dictionary key on every translation: hash once.
    private readonly int _hash = HashCode.Combine(Namespace, Service, Port);

    public bool Equals(ServicePortId? other) =>
        ReferenceEquals(this, other)
        || (other is not null && _hash == other._hash && Port == other.Port && string.Equals(Service, other.Service, StringComparison.Ordinal) && string.Equals(Namespace, other.Namespace, StringComparison.Ordinal));

    public override int GetHashCode() => _hash;

    public string ClusterName(string domain) => $"outbound|{Port}||{Service}.{Namespace}.svc.{domain}";

    public string Fqdn(string domain) => $"{Service}.{Namespace}.svc.{domain}";
}

/// <summary>Classifies Service ports, Istio-style: <c>appProtocol</c> first, then the port name's prefix.</summary>
internal static class PortProtocols
{
    public static PortProtocol Of(KubeServicePort port)
    {
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

/// <summary>The LocalWorkload protocol of a Service port (<c>http</c>, <c>grpc</c> or <c>tcp</c>), as translation classifies the port.</summary>
public static class LocalWorkloadProtocols
{
    /// <summary><c>grpc</c> for HTTP/2 ports, <c>tcp</c> for declared TCP, else <c>http</c>.</summary>
    public static string Of(KubeServicePort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        return PortProtocols.Of(port) switch
        {
            PortProtocol.Http2 => LocalPort.Grpc,
            PortProtocol.Tcp => LocalPort.Tcp,
            _ => LocalPort.Http,
        };
    }
}
