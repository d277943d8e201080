using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

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
