using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// With client certificates on the tunnel listener: an agent's client certificate must carry exactly one SPIFFE ID of
/// the trust domain (<c>Xds:TrustDomain</c>, the same parser as the xDS node identity), and its namespace must be the
/// namespace of the LocalWorkload its Hello claims (and so of the Sandbox that LocalWorkload joins). An agent without a
/// certificate (client certificates optional) is not checked; who may attach is still decided by the LocalWorkload's
/// secret or the broker's token.
/// </summary>
internal sealed class TunnelAgentIdentity(string trustDomain) : IAgentIdentityCheck
{
    /// <inheritdoc />
    public string? Refusal(Hello hello, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(hello);
        ArgumentNullException.ThrowIfNull(context);
        return Refusal(context.GetHttpContext().Connection.ClientCertificate, hello.Namespace, hello.LocalWorkload);
    }

    /// <summary>
    /// Null when <paramref name="certificate"/> (null: the agent presented none) may act for LocalWorkload
    /// <paramref name="ns"/>/<paramref name="workload"/>; else the refusal naming both the identity and the workload. Pure.
    /// </summary>
    public string? Refusal(X509Certificate2? certificate, string ns, string workload)
    {
        if (certificate is null)
        {
            return null;
        }

        var asked = $"the agent for LocalWorkload {ns}/{workload} connected";
        if (CertificateIdentity.Of(certificate, trustDomain, "Xds:TrustDomain, --xds-trust-domain", out var problem) is not { } identity)
        {
            return $"{asked} {problem!.Tail}";
        }

        return identity.Namespace == ns
            ? null
            : $"{asked} as {identity}, of namespace {identity.Namespace}: an agent's client certificate must be of the LocalWorkload's namespace ({ns})";
    }
}
