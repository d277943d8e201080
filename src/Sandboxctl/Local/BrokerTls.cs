using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sandboxctl.Local;

/// <summary>
/// TLS to a broker that serves it (<c>--tunnel-tls-cert-file</c> or <c>--tunnel-tls-secret</c> on the server):
/// <c>local connect --ca-file</c> names the CA bundle the broker's certificate must chain to (only these roots, the
/// host name of <c>--server</c> checked), and <c>--cert-file</c>/<c>--key-file</c> the client certificate a broker
/// that asks for one gets. The files are read once, when the agent starts.
/// </summary>
internal sealed class BrokerTls
{
    private readonly X509Certificate2Collection _roots;
    private readonly X509Certificate2? _client;

    private BrokerTls(X509Certificate2Collection roots, X509Certificate2? client)
    {
        _roots = roots;
        _client = client;
    }

    /// <summary>The TLS settings of the flags, or null without <c>--ca-file</c>; throws a <see cref="CliException"/> (exit 1) naming the flag of a file that does not load.</summary>
    public static BrokerTls? From(string? caFile, string? certFile, string? keyFile)
    {
        if ((certFile is null) != (keyFile is null))
        {
            throw new CliException("--cert-file and --key-file go together.", "Give the client certificate (PEM) and its private key (PEM) the broker's CA signed.", ExitCodes.UserError);
        }

        if (caFile is null)
        {
            return certFile is null
                ? null
                : throw new CliException("--cert-file needs --ca-file.", "Give --ca-file with the CA bundle (PEM) the broker's certificate chains to.", ExitCodes.UserError);
        }

        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPem(File.ReadAllText(caFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new CliException($"--ca-file '{caFile}' cannot be read as PEM certificates: {e.Message}", "Give the CA bundle (PEM) the broker's certificate chains to.", ExitCodes.UserError);
        }

        if (roots.Count == 0)
        {
            throw new CliException($"--ca-file '{caFile}' holds no PEM certificate.", "Give the CA bundle (PEM) the broker's certificate chains to.", ExitCodes.UserError);
        }

        X509Certificate2? client = null;
        if (certFile is not null)
        {
            try
            {
                using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
                client = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                throw new CliException($"--cert-file '{certFile}' and --key-file do not load as a certificate and its private key: {e.Message}", "Give the client certificate (PEM) and its own private key (PEM).", ExitCodes.UserError);
            }
        }

        return new BrokerTls(roots, client);
    }

    /// <summary>Puts these settings on <paramref name="handler"/>.</summary>
    public SocketsHttpHandler Apply(SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = _client is null ? null : [_client],
            RemoteCertificateValidationCallback = (_, certificate, presented, errors) => Trusted(certificate, presented, errors),
        };
        return handler;
    }

    private bool Trusted(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(leaf);
    }
}
