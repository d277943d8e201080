using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PuppeteerSharp;

namespace XdsControlPlane.Testing;

/// <summary>
/// Headless Chromium driven through PuppeteerSharp: the machine's own <c>chromium</c> (Debian's package, which .ci/run
/// installs; <c>SANDBOXCTL_TEST_CHROMIUM</c> names another), never a downloaded browser. Names under the test's preview
/// domain resolve to loopback (<c>--host-resolver-rules</c>) and the test's certificate is trusted by its public key
/// (<c>--ignore-certificate-errors-spki-list</c>), so a preview host is opened as a browser opens one: https, its
/// name, Secure cookies, its real Accept header. Without a chromium the calling test is skipped (failed under CI=true).
/// </summary>
internal static class HeadlessChromium
{
    private static readonly string[] Candidates = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

    /// <summary>The chromium to run, or null when there is none.</summary>
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("SANDBOXCTL_TEST_CHROMIUM") is { Length: > 0 } named)
        {
            return File.Exists(named) ? named : null;
        }

        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return Candidates.SelectMany(name => path.Select(directory => Path.Combine(directory, name))).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Starts a headless Chromium that resolves every name under <paramref name="domain"/> to 127.0.0.1 and trusts
    /// the first certificate of <paramref name="certificatePem"/> (by its public key) for them.
    /// </summary>
    public static async Task<IBrowser> LaunchAsync(string domain, string certificatePem)
    {
        if (Find() is not { } chromium)
        {
            Prerequisite.Missing("headless Chromium: no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)");
            throw new InvalidOperationException("unreachable");
        }

        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        var spki = Convert.ToBase64String(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
        return await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = chromium,
            HeadlessMode = HeadlessMode.True,
            Timeout = 60_000,
            ProtocolTimeout = 60_000,
            Args =
            [
                // Tests run as root in CI containers, where Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                // Quoted: PuppeteerSharp starts the process with one command line, and a rule has spaces.
                $"--host-resolver-rules=\"MAP *.{domain} 127.0.0.1\"",
                $"--ignore-certificate-errors-spki-list={spki}",
            ],
        });
    }
}

/// <summary>
/// What a browser saw of one preview, in the order a person meets it: the first visit with <c>?token=</c> (the
/// redirect, where it landed, the page, the cookie it kept and what scripts see of it), a WebSocket echo from that page,
/// and a visit from another browser profile without the cookie.
/// </summary>
/// <param name="Redirect">The status of the one redirect the first visit went through (null when there was none or several).</param>
/// <param name="Landed">Where the first visit ended and its status.</param>
/// <param name="PageText">The text of the page it landed on.</param>
/// <param name="Cookie">The session cookie the browser kept for the origin, or null.</param>
/// <param name="ScriptCookies">What <c>document.cookie</c> shows the page.</param>
/// <param name="Echoed">What came back on the WebSocket.</param>
/// <param name="Stranger">The status, content type and text the cookie-less profile was shown.</param>
internal sealed record PreviewVisit(HttpStatusCode? Redirect, (string Url, HttpStatusCode Status) Landed, string PageText, CookieParam? Cookie, string ScriptCookies, string Echoed, (HttpStatusCode Status, string? ContentType, string Text) Stranger)
{
    /// <summary>The preview session cookie's name.</summary>
    public const string CookieName = "__Host-sandboxctl-preview";

    private const string WebSocketEcho = """
        (url, text) => new Promise((resolve, reject) => {
          const socket = new WebSocket(url);
          const timer = setTimeout(() => reject(new Error('no echo within 20 s')), 20000);
          socket.onopen = () => socket.send(text);
          socket.onmessage = event => { clearTimeout(timer); resolve(event.data); socket.close(); };
          socket.onerror = () => { clearTimeout(timer); reject(new Error('the WebSocket failed')); };
        })
        """;

    /// <summary>
    /// Opens <paramref name="origin"/><paramref name="path"/> with <paramref name="token"/> in a new page of
    /// <paramref name="browser"/> (sending <paramref name="headers"/> too), then a WebSocket to <c>/ws</c> that sends
    /// <paramref name="message"/>, then <paramref name="path"/> from a fresh profile.
    /// </summary>
    public static async Task<PreviewVisit> RunAsync(IBrowser browser, string origin, string path, string token, string message, IDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(browser);
        await using var page = await browser.NewPageAsync();
        if (headers is not null)
        {
            await page.SetExtraHttpHeadersAsync(new Dictionary<string, string>(headers));
        }

        var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        var answer = await page.GoToAsync($"{origin}{path}{separator}token={token}");
        var chain = answer.Request.RedirectChain;
        var cookie = (await page.GetCookiesAsync(origin)).SingleOrDefault(c => c.Name == CookieName);
        var text = await page.EvaluateExpressionAsync<string>("document.body.innerText");
        var scripts = await page.EvaluateExpressionAsync<string>("document.cookie");
        var echoed = await page.EvaluateFunctionAsync<string>(WebSocketEcho, "wss" + origin["https".Length..] + "/ws", message);

        await using var stranger = await browser.CreateBrowserContextAsync();
        await using var strangerPage = await stranger.NewPageAsync();
        var denied = await strangerPage.GoToAsync(origin + path);
        var deniedText = await strangerPage.EvaluateExpressionAsync<string>("document.body.innerText");
        return new PreviewVisit(
            chain.Length == 1 ? chain[0].Response.Status : null,
            (answer.Url, answer.Status),
            text,
            cookie,
            scripts,
            echoed,
            (denied.Status, denied.Headers.GetValueOrDefault("content-type"), deniedText));
    }

    /// <summary>The cookie's attributes that matter: HttpOnly, Secure, SameSite, Path, Domain (the host alone when it is host-only).</summary>
    public (bool? HttpOnly, bool? Secure, SameSite? SameSite, string? Path, string? Domain)? CookieAttributes =>
        Cookie is { } c ? (c.HttpOnly, c.Secure, c.SameSite, c.Path, c.Domain) : null;
}
