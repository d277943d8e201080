using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Sandboxctl;

/// <summary>
/// A control plane's xDS address as <c>--xds-address</c> takes it: <c>host:port</c>, an IPv6 address in brackets
/// (<c>[::1]:18000</c>), the port from 1 to 65535. Anything else is a user error naming the flag.
/// </summary>
/// <param name="Host">The host name or IP address, without brackets.</param>
/// <param name="Port">The port.</param>
internal sealed partial record XdsAddress(string Host, int Port)
{
    /// <summary>The host is an IPv6 address (written in brackets in an address or a URI).</summary>
    public bool IsIPv6 => IPAddress.TryParse(Host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6;

    /// <summary>Reads <paramref name="text"/>; <paramref name="example"/> is offered in the hint when it is wrong.</summary>
    /// <exception cref="CliException">Not host:port (exit code 1).</exception>
    public static XdsAddress Parse(string text, string example)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Pattern().Match(text) is { Success: true } match
            && int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
        {
            if (match.Groups["ipv6"].Success)
            {
                if (IPAddress.TryParse(match.Groups["ipv6"].Value, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    return new XdsAddress(match.Groups["ipv6"].Value, port);
                }
            }
            else
            {
                return new XdsAddress(match.Groups["host"].Value, port);
            }
        }

        var hint = text.Count(c => c == ':') > 1 && !text.StartsWith('[')
            ? $"Write an IPv6 address in brackets: --xds-address [::1]:18000; or a name: --xds-address {example}"
            : $"For example --xds-address {example}, or [::1]:18000";
        throw new CliException(
            $"--xds-address must be host:port with a port from 1 to 65535 (an IPv6 address in brackets, as [::1]:18000), got '{ClientTextOf(text)}'.",
            hint,
            ExitCodes.UserError);
    }

    /// <summary><c>http://host:port/</c>, brackets and all.</summary>
    public Uri ToHttpUri() => new UriBuilder(Uri.UriSchemeHttp, IsIPv6 ? $"[{Host}]" : Host, Port).Uri;

    /// <summary>As the user wrote it: <c>host:port</c> or <c>[v6]:port</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{(IsIPv6 ? $"[{Host}]" : Host)}:{Port}");

    private static string ClientTextOf(string text) => XdsControlPlane.Xds.Resources.ClientText.Printable(text, 256);

    [GeneratedRegex(@"^(?:\[(?<ipv6>[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._-]+)?)\]|(?<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(?<port>[0-9]{1,5})\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
