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

/// <summary>
/// One <c>--preview PORT[:ACCESS]</c> of <c>local connect</c>: a preview URL the gateway serves for Service port PORT of
/// the laptop (one of the <c>--port</c> REMOTE ports), opened to <c>public</c>, <c>shared</c> or <c>personal</c>
/// (the default, as for a Sandbox's previews).
/// </summary>
internal sealed record RequestedPreview(int Port, string Access)
{
    /// <summary>Parses <c>8080</c> or <c>8080:shared</c>; anything else exits 1 naming the text.</summary>
    public static RequestedPreview Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (port, access) = colon < 0 ? (text, Preview.Personal) : (text[..colon], text[(colon + 1)..]);
        if (PortNumber.TryParse(port) is not { } number || access is not (Preview.Public or Preview.Shared or Preview.Personal))
        {
            throw new CliException(
                $"--preview '{(text.Length > 64 ? text[..64] + "…" : text)}' is not PORT[:public|shared|personal].",
                "Write --preview 8080 (personal: you only) or --preview 8080:shared (anyone with a grant of the namespace); PORT is a Service port of --port.",
                ExitCodes.UserError);
        }

        return new RequestedPreview(number, access);
    }
}

/// <summary>TCP port numbers as the CLI accepts them.</summary>
internal static class PortNumber
{
    /// <summary>The port 1–65535 <paramref name="text"/> spells, or null.</summary>
    public static int? TryParse(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535 ? port : null;
}
