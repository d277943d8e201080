using System.Globalization;
using System.Text;
using Validate;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>Compiles <c>validate.StringRules</c>.</summary>
internal static class StringRuleCompiler
{
    private static readonly IReadOnlySet<string> Implemented = new HashSet<string>(StringComparer.Ordinal)
    {
        "const", "len", "min_len", "max_len", "len_bytes", "min_bytes", "max_bytes", "pattern", "prefix", "suffix",
        "contains", "not_contains", "in", "not_in", "email", "hostname", "ip", "ipv4", "ipv6", "uri", "uri_ref",
        "address", "uuid", "well_known_regex", "strict", "ignore_empty",
    };

    public static CompiledRules Compile(StringRules rules, string kind)
    {
        var checks = new List<ValueCheck>();
        var unsupported = new List<string>(RuleFields.Unimplemented(rules, Implemented, kind));

        void Add(string rule, Func<string, bool> ok, string requirement) =>
            checks.Add(new($"{kind}.{rule}", v => ok((string)v), requirement));

        if (rules.HasConst)
        {
            var expected = rules.Const;
            Add("const", v => v == expected, $"value must equal \"{expected}\"");
        }

        if (rules.HasLen)
        {
            var len = rules.Len;
            Add("len", v => Runes(v) == len, $"value length must be {Count(len)} characters");
        }

        if (rules.HasMinLen)
        {
            var min = rules.MinLen;
            Add("min_len", v => Runes(v) >= min, $"value length must be at least {Count(min)} characters");
        }

        if (rules.HasMaxLen)
        {
            var max = rules.MaxLen;
            Add("max_len", v => Runes(v) <= max, $"value length must be at most {Count(max)} characters");
        }

        if (rules.HasLenBytes)
        {
            var len = rules.LenBytes;
            Add("len_bytes", v => Bytes(v) == len, $"value must be {Count(len)} bytes");
        }

        if (rules.HasMinBytes)
        {
            var min = rules.MinBytes;
            Add("min_bytes", v => Bytes(v) >= min, $"value must be at least {Count(min)} bytes");
        }

        if (rules.HasMaxBytes)
        {
            var max = rules.MaxBytes;
            Add("max_bytes", v => Bytes(v) <= max, $"value must be at most {Count(max)} bytes");
        }

        if (rules.HasPattern)
        {
            var pattern = rules.Pattern;
            try
            {
                var regex = Re2Pattern.Compile(pattern);
                Add("pattern", regex.IsMatch, $"value must match regex pattern \"{pattern}\"");
            }
            catch (ArgumentException e)
            {
                unsupported.Add($"{kind}.pattern \"{pattern}\" cannot be compiled: {e.Message}");
            }
        }

        if (rules.HasPrefix)
        {
            var prefix = rules.Prefix;
            Add("prefix", v => v.StartsWith(prefix, StringComparison.Ordinal), $"value must start with \"{prefix}\"");
        }

        if (rules.HasSuffix)
        {
            var suffix = rules.Suffix;
            Add("suffix", v => v.EndsWith(suffix, StringComparison.Ordinal), $"value must end with \"{suffix}\"");
        }

        if (rules.HasContains)
        {
            var part = rules.Contains;
            Add("contains", v => v.Contains(part, StringComparison.Ordinal), $"value must contain \"{part}\"");
        }

        if (rules.HasNotContains)
        {
            var part = rules.NotContains;
            Add("not_contains", v => !v.Contains(part, StringComparison.Ordinal), $"value must not contain \"{part}\"");
        }

        if (rules.In.Count > 0)
        {
            var allowed = rules.In.ToHashSet(StringComparer.Ordinal);
            Add("in", allowed.Contains, $"value must be one of [{string.Join(", ", rules.In.Select(Quote))}]");
        }

        if (rules.NotIn.Count > 0)
        {
            var banned = rules.NotIn.ToHashSet(StringComparer.Ordinal);
            Add("not_in", v => !banned.Contains(v), $"value must not be one of [{string.Join(", ", rules.NotIn.Select(Quote))}]");
        }

        switch (rules.WellKnownCase)
        {
            case StringRules.WellKnownOneofCase.Email when rules.Email:
                Add("email", WellKnownFormats.IsEmail, "value must be a valid email address");
                break;
            case StringRules.WellKnownOneofCase.Hostname when rules.Hostname:
                Add("hostname", WellKnownFormats.IsHostname, "value must be a valid hostname");
                break;
            case StringRules.WellKnownOneofCase.Ip when rules.Ip:
                Add("ip", WellKnownFormats.IsIp, "value must be a valid IP address");
                break;
            case StringRules.WellKnownOneofCase.Ipv4 when rules.Ipv4:
                Add("ipv4", WellKnownFormats.IsIpv4, "value must be a valid IPv4 address");
                break;
            case StringRules.WellKnownOneofCase.Ipv6 when rules.Ipv6:
                Add("ipv6", WellKnownFormats.IsIpv6, "value must be a valid IPv6 address");
                break;
            case StringRules.WellKnownOneofCase.Uri when rules.Uri:
                Add("uri", WellKnownFormats.IsUri, "value must be an absolute URI");
                break;
            case StringRules.WellKnownOneofCase.UriRef when rules.UriRef:
                Add("uri_ref", WellKnownFormats.IsUriReference, "value must be a URI reference");
                break;
            case StringRules.WellKnownOneofCase.Address when rules.Address:
                Add("address", WellKnownFormats.IsAddress, "value must be a valid hostname or IP address");
                break;
            case StringRules.WellKnownOneofCase.Uuid when rules.Uuid:
                Add("uuid", WellKnownFormats.IsUuid, "value must be a valid UUID");
                break;
            case StringRules.WellKnownOneofCase.WellKnownRegex:
                AddKnownRegex(rules, Add, kind, unsupported);
                break;
        }

        return new CompiledRules { Checks = checks, IgnoreEmpty = rules.IgnoreEmpty, Unsupported = unsupported };
    }

    private static void AddKnownRegex(StringRules rules, Action<string, Func<string, bool>, string> add, string kind, List<string> unsupported)
    {
        switch (rules.WellKnownRegex)
        {
            case KnownRegex.HttpHeaderName:
                var name = rules.Strict ? WellKnownFormats.StrictHeaderName : WellKnownFormats.LenientHeader;
                add("well_known_regex", name.IsMatch, rules.Strict ? "value must be a valid HTTP header name" : "value must not contain NUL, CR or LF");
                break;
            case KnownRegex.HttpHeaderValue:
                var value = rules.Strict ? WellKnownFormats.StrictHeaderValue : WellKnownFormats.LenientHeader;
                add("well_known_regex", value.IsMatch, rules.Strict ? "value must be a valid HTTP header value" : "value must not contain NUL, CR or LF");
                break;
            case KnownRegex.Unknown:
                break;
            default:
                unsupported.Add($"{kind}.well_known_regex {rules.WellKnownRegex} is not implemented");
                break;
        }
    }

    private static ulong Runes(string value)
    {
        ulong count = 0;
        foreach (var _ in value.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    private static ulong Bytes(string value) => (ulong)Encoding.UTF8.GetByteCount(value);

    private static string Count(ulong n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string s) => $"\"{s}\"";
}
