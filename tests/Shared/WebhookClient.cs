using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Testing;

/// <summary>
/// Calls the server's admission webhook over real HTTPS on loopback as the API server does (POST, application/json),
/// trusting only the CA it is given (<see cref="CaAsync"/> reads the served one from <c>/debug/webhook-ca</c>). It keeps
/// one connection open and records the certificate of every TLS handshake it makes.
/// </summary>
internal sealed class WebhookClient : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>A client of the webhook on <paramref name="port"/> that trusts the CA certificates of <paramref name="caPem"/> only.</summary>
    public WebhookClient(int port, string caPem)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(caPem);
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            SslOptions =
            {
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    RevocationMode = X509RevocationMode.NoCheck,
                },
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    Handshakes.Enqueue(X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData()));
                    return errors == SslPolicyErrors.None;
                },
            },
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        _http = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}"), DefaultRequestVersion = HttpVersion.Version11 };
    }

    /// <summary>The server certificate of each TLS handshake so far, in order.</summary>
    public ConcurrentQueue<X509Certificate2> Handshakes { get; } = new();

    /// <summary>The CA the server's admin listener on <paramref name="adminPort"/> serves at <c>/debug/webhook-ca</c>.</summary>
    public static async Task<string> CaAsync(int adminPort, CancellationToken cancellationToken)
    {
        using var admin = new HttpClient();
        var response = await admin.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/debug/webhook-ca"), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return text;
    }

    /// <summary>POSTs <paramref name="body"/> to <c>/inject</c> with <paramref name="contentType"/>.</summary>
    public Task<HttpResponseMessage> PostAsync(string body, CancellationToken cancellationToken, string contentType = "application/json") =>
        _http.PostAsync(new Uri("/inject", UriKind.Relative), new StringContent(body, Encoding.UTF8, contentType), cancellationToken);

    /// <summary>Sends <paramref name="method"/> to <c>/inject</c> without a body.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, CancellationToken cancellationToken) =>
        _http.SendAsync(new HttpRequestMessage(method, new Uri("/inject", UriKind.Relative)), cancellationToken);

    /// <summary>The AdmissionReview's <c>response</c> for <paramref name="body"/>, after checking the envelope (200, admission.k8s.io/v1 AdmissionReview).</summary>
    public async Task<JsonObject> ReviewAsync(string body, CancellationToken cancellationToken)
    {
        using var response = await PostAsync(body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var review = JsonNode.Parse(text)!.AsObject();
        Assert.That(((string?)review["apiVersion"], (string?)review["kind"]), Is.EqualTo(("admission.k8s.io/v1", "AdmissionReview")), text);
        return review["response"]!.AsObject();
    }

    /// <summary>The JSON patch of an AdmissionResponse (decoded from base64), or null when it has none.</summary>
    public static JsonArray? Patch(JsonObject response)
    {
        if (response["patch"] is null)
        {
            return null;
        }

        Assert.That((string?)response["patchType"], Is.EqualTo("JSONPatch"));
        return JsonNode.Parse(Convert.FromBase64String((string)response["patch"]!))!.AsArray();
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
