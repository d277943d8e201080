using Envoy.Service.Auth.V3;
using Google.Protobuf;
using XdsControlPlane.Model;

namespace XdsControlPlane.Testing;

/// <summary>A preview as translation describes it to the gateway's ext_authz filter (its <c>context_extensions</c>).</summary>
internal sealed record PreviewUnderTest(string OwnerKind, string Namespace, string Owner, string Service, int Port, string Access)
{
    /// <summary>The preview's host name under <c>preview.example.com</c>.</summary>
    public string Host => PreviewHostNames.Host(OwnerKind, Namespace, Owner, Service, Port, "test-salt", "preview.example.com");
}

/// <summary>
/// CheckRequests shaped as Envoy's ext_authz filter sends them, derived from the captured one in
/// tests/XdsControlPlane.Server.Tests/Fixtures/ext_authz (see its README): lower-case header keys with the pseudo-headers,
/// <c>path</c> with its query, host, scheme, the downstream source address, and the preview's context extensions.
/// </summary>
internal static class PreviewCheckRequests
{
    private static readonly Lazy<CheckRequest> CapturedRequest = new(() =>
        new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(false)).Parse<CheckRequest>(
            File.ReadAllText(RepoDirectory.Path("tests", "XdsControlPlane.Server.Tests", "Fixtures", "ext_authz", "check-request.json"))));

    /// <summary>The captured request as it is (an application's own JWT in <c>authorization</c>, no preview context).</summary>
    public static CheckRequest Captured => CapturedRequest.Value.Clone();

    /// <summary>
    /// A <paramref name="method"/> of <paramref name="path"/> on <paramref name="preview"/>'s host with <paramref name="headers"/>
    /// (lower-case keys) besides those every browser request carries; the captured request's credential and body are dropped.
    /// </summary>
    public static CheckRequest For(PreviewUnderTest preview, string method = "GET", string path = "/", params (string Key, string Value)[] headers)
    {
        var request = Captured;
        var http = request.Attributes.Request.Http;
        http.Method = method;
        http.Path = path;
        http.Host = preview.Host;
        http.Scheme = "https";
        http.Body = "";
        http.Size = 0;
        foreach (var dropped in new[] { "authorization", "content-length", "content-type" })
        {
            http.Headers.Remove(dropped);
        }

        http.Headers[":authority"] = preview.Host;
        http.Headers[":method"] = method;
        http.Headers[":path"] = path;
        http.Headers[":scheme"] = "https";
        http.Headers["x-forwarded-proto"] = "https";
        http.Headers["accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        foreach (var (key, value) in headers)
        {
            http.Headers[key] = value;
        }

        var context = request.Attributes.ContextExtensions;
        context[PreviewAuthorizationContext.OwnerKind] = preview.OwnerKind;
        context[PreviewAuthorizationContext.Namespace] = preview.Namespace;
        context[PreviewAuthorizationContext.OwnerName] = preview.Owner;
        context[PreviewAuthorizationContext.Service] = preview.Service;
        context[PreviewAuthorizationContext.Port] = preview.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context[PreviewAuthorizationContext.Access] = preview.Access;
        context[PreviewAuthorizationContext.Host] = preview.Host;
        return request;
    }

    /// <summary>The HTTP status the gateway answers for <paramref name="response"/>: 200 when allowed (the request goes upstream), else the denial's.</summary>
    public static int StatusOf(CheckResponse response) =>
        response.HttpResponseCase == CheckResponse.HttpResponseOneofCase.DeniedResponse ? (int)response.DeniedResponse.Status.Code : response.Status.Code == 0 ? 200 : 403;

    /// <summary>The value of the denial's (or redirect's) header <paramref name="key"/>, or null.</summary>
    public static string? Header(CheckResponse response, string key) =>
        response.DeniedResponse?.Headers.FirstOrDefault(h => h.Header.Key == key)?.Header.Value;
}
