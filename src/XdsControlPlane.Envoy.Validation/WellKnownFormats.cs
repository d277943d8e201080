using System.Net;
using System.Net.Mail;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>The string formats protoc-gen-validate knows (<c>hostname</c>, <c>email</c>, <c>ip</c>, …), with its semantics.</summary>
internal static partial class WellKnownFormats
{
    /// <summary>RFC 7230 header name, as protoc-gen-validate's strict <c>HTTP_HEADER_NAME</c> (HTTP/2 pseudo-headers allowed).</summary>
    public static readonly Regex StrictHeaderName = Re2Pattern.Compile("^:?[0-9a-zA-Z!#$%&'*+-.^_|~\\x60]+$");

    /// <summary>RFC 7230 header value, as protoc-gen-validate's strict <c>HTTP_HEADER_VALUE</c>: no control characters but tab.</summary>
    public static readonly Regex StrictHeaderValue = Re2Pattern.Compile("^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$");

    /// <summary>Non-strict header name or value (<c>strict: false</c>): no NUL, LF or CR.</summary>
    public static readonly Regex LenientHeader = Re2Pattern.Compile("^[^\\x00\\x0A\\x0D]*$");

    public static bool IsHostname(string value)
    {
        var host = value.EndsWith('.') ? value[..^1] : value;
        if (host.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var label in host.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsEmail(string value)
    {
        if (!MailAddress.TryCreate(value, out var parsed))
        {
            return false;
        }

        var address = parsed.Address;
        var at = address.LastIndexOf('@');
        return address.Length <= 254 && at is > 0 and <= 64 && IsHostname(address[(at + 1)..]);
    }

    public static bool IsIpv4(string value) =>
        value.Count(c => c == '.') == 3 && value.All(c => char.IsAsciiDigit(c) || c == '.') &&
        IPAddress.TryParse(value, out var address) && address.AddressFamily == AddressFamily.InterNetwork;

    public static bool IsIpv6(string value) =>
        value.Contains(':', StringComparison.Ordinal) && !value.Contains('%', StringComparison.Ordinal) && !value.Contains('[', StringComparison.Ordinal) &&
        IPAddress.TryParse(value, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;

    public static bool IsIp(string value) => IsIpv4(value) || IsIpv6(value);

    public static bool IsAddress(string value) => IsIp(value) || IsHostname(value);

    public static bool IsUri(string value) => SchemePrefix().IsMatch(value) && Uri.TryCreate(value, UriKind.Absolute, out _);

    public static bool IsUriReference(string value) => Uri.TryCreate(value, UriKind.RelativeOrAbsolute, out _);

    public static bool IsUuid(string value) => Uuid().IsMatch(value);

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*:", RegexOptions.CultureInvariant)]
    private static partial Regex SchemePrefix();

    [GeneratedRegex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", RegexOptions.CultureInvariant)]
    private static partial Regex Uuid();
}
