using System.Globalization;
using System.Text;
using Google.Protobuf;
using Validate;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>Compiles <c>validate.BytesRules</c>.</summary>
internal static class BytesRuleCompiler
{
    private static readonly IReadOnlySet<string> Implemented = new HashSet<string>(StringComparer.Ordinal)
    {
        "const", "len", "min_len", "max_len", "pattern", "prefix", "suffix", "contains", "in", "not_in", "ip", "ipv4", "ipv6",
    };

    public static CompiledRules Compile(BytesRules rules, string kind)
    {
        var checks = new List<ValueCheck>();
        var unsupported = new List<string>(RuleFields.Unimplemented(rules, Implemented, kind));

        void Add(string rule, Func<ByteString, bool> ok, string requirement) =>
            checks.Add(new($"{kind}.{rule}", v => ok((ByteString)v), requirement));

        if (rules.HasConst)
        {
            var expected = rules.Const;
            Add("const", v => v.Equals(expected), $"value must equal {Hex(expected)}");
        }

        if (rules.HasLen)
        {
            var len = rules.Len;
            Add("len", v => (ulong)v.Length == len, $"value must be {Count(len)} bytes");
        }

        if (rules.HasMinLen)
        {
            var min = rules.MinLen;
            Add("min_len", v => (ulong)v.Length >= min, $"value must be at least {Count(min)} bytes");
        }

        if (rules.HasMaxLen)
        {
            var max = rules.MaxLen;
            Add("max_len", v => (ulong)v.Length <= max, $"value must be at most {Count(max)} bytes");
        }

        if (rules.HasPattern)
        {
            var pattern = rules.Pattern;
            try
            {
                var regex = Re2Pattern.Compile(pattern);
                Add("pattern", v => regex.IsMatch(Encoding.UTF8.GetString(v.Span)), $"value must match regex pattern \"{pattern}\"");
            }
            catch (ArgumentException e)
            {
                unsupported.Add($"{kind}.pattern \"{pattern}\" cannot be compiled: {e.Message}");
            }
        }

        if (rules.HasPrefix)
        {
            var prefix = rules.Prefix;
            Add("prefix", v => v.Span.StartsWith(prefix.Span), $"value must start with {Hex(prefix)}");
        }

        if (rules.HasSuffix)
        {
            var suffix = rules.Suffix;
            Add("suffix", v => v.Span.EndsWith(suffix.Span), $"value must end with {Hex(suffix)}");
        }

        if (rules.HasContains)
        {
            var part = rules.Contains;
            Add("contains", v => v.Span.IndexOf(part.Span) >= 0, $"value must contain {Hex(part)}");
        }

        if (rules.In.Count > 0)
        {
            var allowed = rules.In.ToArray();
            Add("in", v => allowed.Contains(v), $"value must be one of [{string.Join(", ", allowed.Select(Hex))}]");
        }

        if (rules.NotIn.Count > 0)
        {
            var banned = rules.NotIn.ToArray();
            Add("not_in", v => !banned.Contains(v), $"value must not be one of [{string.Join(", ", banned.Select(Hex))}]");
        }

        switch (rules.WellKnownCase)
        {
            case BytesRules.WellKnownOneofCase.Ip when rules.Ip:
                Add("ip", v => v.Length is 4 or 16, "value must be an IP address (4 or 16 bytes)");
                break;
            case BytesRules.WellKnownOneofCase.Ipv4 when rules.Ipv4:
                Add("ipv4", v => v.Length == 4, "value must be an IPv4 address (4 bytes)");
                break;
            case BytesRules.WellKnownOneofCase.Ipv6 when rules.Ipv6:
                Add("ipv6", v => v.Length == 16, "value must be an IPv6 address (16 bytes)");
                break;
        }

        return new CompiledRules { Checks = checks, Unsupported = unsupported };
    }

    private static string Count(ulong n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Hex(ByteString bytes) => "0x" + Convert.ToHexString(bytes.Span);
}
