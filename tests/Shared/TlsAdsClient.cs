using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsControlPlane.Testing;

/// <summary>
/// An Envoy-shaped raw ADS client over real TLS (Grpc.Net.Client on SslStream): trusts one test CA only, presents a
/// client certificate when given one, and tells which server certificate each new connection got.
/// </summary>
internal static class TlsAdsClient
{
    /// <summary>TLS to <c>localhost</c> trusting <paramref name="ca"/> only, presenting <paramref name="client"/> (none when null), telling <paramref name="seen"/> the server's certificate.</summary>
    public static SslClientAuthenticationOptions SslOptions(TestCertificateAuthority ca, X509Certificate2? client, Action<X509Certificate2>? seen = null) => new()
    {
        TargetHost = "localhost",
        ClientCertificates = client is null ? null : [client],
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is not null)
            {
                seen?.Invoke(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            }

            return ca.Issued(certificate);
        },
    };

    /// <summary>A channel to <c>127.0.0.1:<paramref name="port"/></c> that trusts <paramref name="ca"/>, presents <paramref name="client"/> (none when null) and tells <paramref name="seen"/> the server's certificate; plaintext HTTP/2 when <paramref name="plaintext"/>.</summary>
    public static GrpcChannel Channel(int port, TestCertificateAuthority ca, X509Certificate2? client, Action<X509Certificate2>? seen = null, bool plaintext = false)
    {
        var handler = new SocketsHttpHandler { SslOptions = SslOptions(ca, client, seen) };
        return GrpcChannel.ForAddress($"{(plaintext ? "http" : "https")}://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>
    /// A channel to <c>localhost:<paramref name="port"/></c> that validates the server as a stock TLS client does: the
    /// chain it sends, built up to <paramref name="root"/> as the only trusted root, and the name <c>localhost</c>.
    /// </summary>
    public static GrpcChannel RootTrustingChannel(int port, X509Certificate2 root)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck, DisableCertificateDownloads = true };
        policy.CustomTrustStore.Add(root);
        var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { TargetHost = "localhost", CertificateChainPolicy = policy } };
        return GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>Opens an ADS stream on a new connection as a node of <paramref name="role"/>, asks for clusters and returns the first response.</summary>
    public static async Task<DiscoveryResponse> FirstClustersAsync(int port, TestCertificateAuthority ca, X509Certificate2? client, string role, CancellationToken cancellationToken, bool plaintext = false)
    {
        using var channel = Channel(port, ca, client, plaintext: plaintext);
        return await FirstClustersAsync(channel, role, cancellationToken);
    }

    /// <summary>Opens an ADS stream on <paramref name="channel"/> as a node of <paramref name="role"/>, sending <paramref name="headers"/> as the call's metadata, asks for clusters and returns the first response.</summary>
    public static async Task<DiscoveryResponse> FirstClustersAsync(GrpcChannel channel, string role, CancellationToken cancellationToken, Grpc.Core.Metadata? headers = null)
    {
        using var stream = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(headers, cancellationToken: cancellationToken);
        await stream.RequestStream.WriteAsync(Request(role, XdsControlPlane.Xds.Resources.TypeUrls.Cluster), cancellationToken);
        if (!await stream.ResponseStream.MoveNext(cancellationToken))
        {
            throw new InvalidOperationException("the stream ended without a response");
        }

        return stream.ResponseStream.Current;
    }

    /// <summary>A first request of a node of <paramref name="role"/> (metadata <c>sandboxctl.io/role</c>) for <paramref name="typeUrl"/>.</summary>
    public static DiscoveryRequest Request(string role, string typeUrl) => new()
    {
        Node = new Node { Id = $"{role}-1", Cluster = "test", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString(role) } } },
        TypeUrl = typeUrl,
    };

    /// <summary>Whether <paramref name="failure"/> is a connection the server did not let through (TLS handshake, HTTP/2 preface), not a gRPC status of a served call.</summary>
    public static bool RefusedAtConnection(Exception? failure) => failure switch
    {
        RpcException rpc => rpc.StatusCode is StatusCode.Unavailable or StatusCode.Internal,
        HttpRequestException or IOException => true,
        _ => false,
    };
}
