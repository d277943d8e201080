using System.Globalization;
using XdsControlPlane.Model;

namespace Sandboxctl.Local;

/// <summary>
/// One <c>--port LOCAL[:REMOTE]</c> of <c>local connect</c>: the laptop port the service under development listens on,
/// and the Service port it stands in for (the same number when REMOTE is left out).
/// </summary>
internal sealed record ServedPort(int LocalPort, int RemotePort)
{
    /// <summary>Parses <c>8080</c> or <c>18080:8080</c>; anything else exits 1 naming the text.</summary>
    public static ServedPort Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (local, remote) = colon < 0 ? (text, text) : (text[..colon], text[(colon + 1)..]);
        if (PortNumber.TryParse(local) is not { } localPort || PortNumber.TryParse(remote) is not { } remotePort)
        {
            throw new CliException($"--port '{text}' is not LOCAL[:REMOTE].", "Write --port 8080 (local 8080 serves Service port 8080) or --port 18080:8080.", ExitCodes.UserError);
        }

        return new ServedPort(localPort, remotePort);
    }
}

/// <summary>
/// One <c>--expose SVC:PORT=LOCALPORT</c> of <c>local connect</c>: connections to <c>localhost:LOCALPORT</c> reach
/// port PORT of the in-cluster Service SVC (<c>name</c> or <c>name.namespace</c>) through the tunnel.
/// </summary>
internal sealed record ExposedService(string Service, int Port, int LocalPort)
{
    /// <summary>Parses <c>orders:8080=18080</c>; anything else exits 1 naming the text.</summary>
    public static ExposedService Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var colon = equals < 0 ? -1 : text.LastIndexOf(':', equals);
        if (colon <= 0
            || PortNumber.TryParse(text[(colon + 1)..equals]) is not { } port
            || PortNumber.TryParse(text[(equals + 1)..]) is not { } localPort
            || !IsServiceName(text[..colon]))
        {
            throw new CliException($"--expose '{text}' is not SVC:PORT=LOCALPORT.", "Write --expose orders:8080=18080 (localhost:18080 reaches port 8080 of Service orders).", ExitCodes.UserError);
        }

        return new ExposedService(text[..colon], port, localPort);
    }

    /// <summary>What the broker is told the agent may dial: <c>name</c> or <c>name.namespace</c>.</summary>
    public string Target => Service;

    private static bool IsServiceName(string name) => SchemaPatterns.IsServiceReference(name);

}

/// <summary>TCP port numbers as the CLI accepts them.</summary>
internal static class PortNumber
{
    /// <summary>The port 1–65535 <paramref name="text"/> spells, or null.</summary>
    public static int? TryParse(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535 ? port : null;
}
