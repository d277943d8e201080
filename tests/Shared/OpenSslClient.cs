using System.Diagnostics;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Testing;

/// <summary>What <c>openssl s_client</c> saw of a server: whether the chain verified, and how many certificates the server sent.</summary>
/// <param name="Verified">The chain verified against the given CA file (<c>Verify return code: 0</c>).</param>
/// <param name="CertificatesSent">How many certificates the server sent in its handshake.</param>
/// <param name="Output">Everything s_client wrote, for failure messages.</param>
internal sealed record OpenSslHandshake(bool Verified, int CertificatesSent, string Output);

/// <summary>
/// <c>openssl s_client</c> as a real TLS client independent of .NET (OpenSSL builds and verifies the chain the way
/// Envoy's BoringSSL and gRPC C-core do): connects to a loopback port trusting only one CA file.
/// </summary>
internal static partial class OpenSslClient
{
    /// <summary>Handshakes with <c>127.0.0.1:<paramref name="port"/></c> (SNI <paramref name="serverName"/>, ALPN h2) trusting only <paramref name="caFile"/>.</summary>
    public static async Task<OpenSslHandshake> HandshakeAsync(int port, string caFile, CancellationToken cancellationToken, string serverName = "localhost")
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["s_client", "-connect", $"127.0.0.1:{port}", "-servername", serverName, "-alpn", "h2", "-CAfile", caFile, "-verify_hostname", serverName, "-showcerts"])
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Prerequisite.Missing($"openssl is not installed: {e.Message}");
            throw;
        }

        using (process)
        {
            // No input: s_client ends the connection at end of input once the handshake is done.
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            var text = await output + "\n" + await error;
            return new OpenSslHandshake(
                VerifiedRegex().IsMatch(text),
                SentRegex().Matches(text).Count,
                text);
        }
    }

    [GeneratedRegex(@"Verify return code: 0 \(ok\)", RegexOptions.CultureInvariant)]
    private static partial Regex VerifiedRegex();

    /// <summary>Each certificate of the chain s_client prints with <c>-showcerts</c> ("<c> 0 s:CN=…</c>").</summary>
    [GeneratedRegex(@"^\s*\d+ s:", RegexOptions.CultureInvariant | RegexOptions.Multiline)]
    private static partial Regex SentRegex();
}
