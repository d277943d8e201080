using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace XdsControlPlane.Model;

/// <summary>
/// The host name of a preview: <c>&lt;service&gt;-&lt;port&gt;-&lt;hash&gt;.&lt;previewDomain&gt;</c>, one DNS label in front of the
/// domain so one wildcard certificate (<c>*.previewDomain</c>) covers every preview. The hash is 10 base32 characters
/// of SHA-256 over a cluster salt and the preview's identity (owner kind, namespace and name, Service, port), so it is
/// the same on every replica and after a restart, differs between owners previewing the same Service, and keeps names
/// apart when a long Service name is shortened to fit the label's 63 characters. Pure.
/// </summary>
public static class PreviewHostNames
{
    /// <summary>The longest DNS label.</summary>
    public const int MaxLabelLength = 63;

    /// <summary>The number of hash characters in a label.</summary>
    public const int HashLength = 10;

    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>
    /// The label of the preview of <paramref name="service"/> port <paramref name="port"/> owned by the
    /// <paramref name="ownerKind"/> (<see cref="Sandbox.KindName"/> or <see cref="LocalWorkload.KindName"/>)
    /// <paramref name="ownerNamespace"/>/<paramref name="ownerName"/>. <paramref name="service"/> is as the owner names it
    /// (<c>cart</c> or <c>cart.shop</c>); only its name part shows in the label.
    /// </summary>
    public static string Label(string ownerKind, string ownerNamespace, string ownerName, string service, int port, string salt)
    {
        ArgumentNullException.ThrowIfNull(ownerKind);
        ArgumentNullException.ThrowIfNull(ownerNamespace);
        ArgumentNullException.ThrowIfNull(ownerName);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);

        var hash = Hash(string.Join('\n', salt, ownerKind, ownerNamespace, ownerName, service, port.ToString(CultureInfo.InvariantCulture)));
        var suffix = "-" + port.ToString(CultureInfo.InvariantCulture) + "-" + hash;
        var name = service.Split('.')[0].ToLowerInvariant();
        if (name.Length + suffix.Length > MaxLabelLength)
        {
            name = name[..(MaxLabelLength - suffix.Length)].TrimEnd('-');
        }

        return name + suffix;
    }

    /// <summary>The host name: <see cref="Label"/> and <paramref name="previewDomain"/> (<c>preview.example.com</c>, lower case, no trailing dot).</summary>
    public static string Host(string ownerKind, string ownerNamespace, string ownerName, string service, int port, string salt, string previewDomain)
    {
        ArgumentException.ThrowIfNullOrEmpty(previewDomain);
        return Label(ownerKind, ownerNamespace, ownerName, service, port, salt) + "." + previewDomain.TrimEnd('.').ToLowerInvariant();
    }

    /// <summary>The URL a browser opens: <c>https://</c>, the host and <c>/</c>.</summary>
    public static string Url(string host) => "https://" + host + "/";

    private static string Hash(string identity)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(identity));
        var chars = new char[HashLength];
        for (var i = 0; i < HashLength; i++)
        {
            // 5 bits per character, read from the digest's bit string.
            var bit = i * 5;
            var value = ((digest[bit / 8] << 8) | digest[(bit / 8) + 1]) >> (11 - (bit % 8)) & 31;
            chars[i] = Base32[value];
        }

        return new string(chars);
    }
}
