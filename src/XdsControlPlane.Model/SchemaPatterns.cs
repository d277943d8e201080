using System.Text.RegularExpressions;

namespace XdsControlPlane.Model;

/// <summary>
/// The one home of the name and value rules of the model: each pattern is written once here, used by the schema
/// attributes of the CRD classes (as a constant) and by every check in code (through its <c>Is…</c> method).
/// </summary>
public static partial class SchemaPatterns
{
    /// <summary>A routing key: 1–63 characters of <c>[a-z0-9-]</c>.</summary>
    public const string RoutingKey = "^[a-z0-9-]{1,63}$";

    /// <summary>A DNS label (Kubernetes names of namespaces, Services, Deployments).</summary>
    public const string DnsLabel = "^" + Label + "$";

    /// <summary>A DNS subdomain (Kubernetes object names); at most <see cref="MaxDnsSubdomainLength"/> characters besides.</summary>
    public const string DnsSubdomain = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    /// <summary>The longest DNS subdomain.</summary>
    public const int MaxDnsSubdomainLength = 253;

    /// <summary>A Service reference: <c>name</c> or <c>name.namespace</c>.</summary>
    public const string ServiceReference = "^" + Label + "(\\." + Label + ")?$";

    /// <summary>An HTTP header name (token characters).</summary>
    public const string HeaderName = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";

    /// <summary>A Go-style duration (<c>500ms</c>, <c>5s</c>, <c>1m30s</c>).</summary>
    public const string Duration = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

    /// <summary>An environment variable name.</summary>
    public const string EnvName = "^[A-Za-z_][A-Za-z0-9_]*$";

    /// <summary>A SHA-256 digest: <c>sha256:</c> and 64 lowercase hex digits.</summary>
    public const string SecretHash = "^sha256:[0-9a-f]{64}$";

    /// <summary>One DNS label, unanchored: 1–63 characters of <c>[a-z0-9-]</c>, starting and ending alphanumeric.</summary>
    private const string Label = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";

    /// <summary>Whether <paramref name="value"/> is a routing key (<see cref="RoutingKey"/>).</summary>
    public static bool IsRoutingKey(string? value) => Whole(RoutingKeyRegex(), value);

    /// <summary>Whether <paramref name="value"/> is a DNS label (<see cref="DnsLabel"/>): a namespace, Service or Deployment name.</summary>
    public static bool IsDnsLabel(string? value) => Whole(DnsLabelRegex(), value);

    /// <summary>Whether <paramref name="value"/> is a DNS subdomain of at most <see cref="MaxDnsSubdomainLength"/> characters: an object name.</summary>
    public static bool IsDnsSubdomain(string? value) => value is { Length: <= MaxDnsSubdomainLength } && Whole(DnsSubdomainRegex(), value);

    /// <summary>Whether <paramref name="value"/> is <c>name</c> or <c>name.namespace</c> of a Service (<see cref="ServiceReference"/>).</summary>
    public static bool IsServiceReference(string? value) => Whole(ServiceReferenceRegex(), value);

    /// <summary>Whether <paramref name="value"/> is an HTTP header name (<see cref="HeaderName"/>).</summary>
    public static bool IsHeaderName(string? value) => Whole(HeaderNameRegex(), value);

    /// <summary>The longest header value (bytes of UTF-8) a route may set or match: Envoy's limit for a header value.</summary>
    public const int MaxHeaderValueBytes = 16384;

    /// <summary>
    /// Why <paramref name="value"/> cannot be, or be matched against, an HTTP header value, or <see langword="null"/>
    /// when it can: a header value never holds CR, LF, NUL or another control character but a tab (RFC 9110 §5.5;
    /// Envoy refuses the first three in a route and a line feed in a request header would split it), and is at most
    /// <see cref="MaxHeaderValueBytes"/> bytes. The reason names the character and where it is, never the value.
    /// </summary>
    public static string? HeaderValueProblem(string? value)
    {
        if (value is null)
        {
            return null;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if ((c < ' ' && c != '\t') || c == '\u007f')
            {
                var what = c switch
                {
                    '\n' => "a line feed (LF)",
                    '\r' => "a carriage return (CR)",
                    '\0' => "a NUL",
                    _ => $"the control character U+{(int)c:X4}",
                };
                return $"holds {what} at character {(i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)}; a header value may not hold CR, LF, NUL or other control characters";
            }
        }

        var bytes = System.Text.Encoding.UTF8.GetByteCount(value);
        return bytes > MaxHeaderValueBytes
            ? $"is {bytes.ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes long; a header value may be at most {MaxHeaderValueBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : null;
    }

    /// <summary>Whether <paramref name="value"/> is an environment variable name (<see cref="EnvName"/>).</summary>
    public static bool IsEnvName(string? value) => Whole(EnvNameRegex(), value);

    /// <summary>Whether <paramref name="value"/> is a secret's digest (<see cref="SecretHash"/>).</summary>
    public static bool IsSecretHash(string? value) => Whole(SecretHashRegex(), value);

    /// <summary>
    /// Whether <paramref name="regex"/> matches all of <paramref name="value"/>: .NET's <c>$</c> also matches before a
    /// final line feed, so <c>"key\n"</c> would pass an anchored pattern (and reach Envoy, which refuses it).
    /// </summary>
    private static bool Whole(Regex regex, string? value) => value is not null && !value.EndsWith('\n') && regex.IsMatch(value);

    [GeneratedRegex(RoutingKey, RegexOptions.CultureInvariant)]
    private static partial Regex RoutingKeyRegex();

    [GeneratedRegex(DnsLabel, RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabelRegex();

    [GeneratedRegex(DnsSubdomain, RegexOptions.CultureInvariant)]
    private static partial Regex DnsSubdomainRegex();

    [GeneratedRegex(ServiceReference, RegexOptions.CultureInvariant)]
    private static partial Regex ServiceReferenceRegex();

    [GeneratedRegex(HeaderName, RegexOptions.CultureInvariant)]
    private static partial Regex HeaderNameRegex();

    [GeneratedRegex(EnvName, RegexOptions.CultureInvariant)]
    private static partial Regex EnvNameRegex();

    [GeneratedRegex(SecretHash, RegexOptions.CultureInvariant)]
    private static partial Regex SecretHashRegex();
}
