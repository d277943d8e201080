using Microsoft.Extensions.Primitives;

namespace Sandboxctl.Local.Outbound;

/// <summary>
/// The routing-key headers of one outbound request, in both carriers the data planes read (docs/routing.md):
/// <c>x-routing-key: KEY</c> and the W3C <c>baggage</c> member <c>routing-key=KEY</c>. A key the request names already
/// (the header, else the baggage member) is kept and written to the carrier that lacks it; a request without one gets
/// the agent's. Other baggage members stay as they are, in order: the member is appended to the existing
/// <c>baggage</c>, never added twice, and a request whose two carriers disagree is left as the app sent it.
/// </summary>
internal static class RoutingKeyHeaders
{
    /// <summary>The header carrying the key.</summary>
    public const string HeaderName = "x-routing-key";

    /// <summary>The W3C baggage header.</summary>
    public const string BaggageName = "baggage";

    /// <summary>The baggage member carrying the key.</summary>
    public const string MemberName = "routing-key";

    /// <summary>
    /// The values to send for <c>x-routing-key</c> and <c>baggage</c>, given what the request has
    /// (<paramref name="header"/>, <paramref name="baggage"/>: empty when absent) and the agent's <paramref name="routingKey"/>.
    /// </summary>
    public static (StringValues Header, StringValues Baggage) Complete(StringValues header, StringValues baggage, string routingKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(routingKey);
        var inBaggage = MemberOf(baggage);
        var key = header.Count > 0 ? header.ToString() : inBaggage ?? routingKey;
        var member = $"{MemberName}={key}";
        StringValues completedBaggage = inBaggage is not null ? baggage
            : baggage.Count == 0 || string.IsNullOrWhiteSpace(baggage.ToString()) ? member
            : $"{string.Join(',', baggage.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!.Trim()))},{member}";
        return (header.Count > 0 ? header : key, completedBaggage);
    }

    /// <summary>The value of the <c>routing-key</c> member of <paramref name="baggage"/> (properties after <c>;</c> dropped), or null.</summary>
    public static string? MemberOf(StringValues baggage)
    {
        foreach (var value in baggage)
        {
            foreach (var entry in (value ?? "").Split(','))
            {
                var pair = entry.Split(';')[0];
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && pair[..equals].Trim() == MemberName)
                {
                    return pair[(equals + 1)..].Trim();
                }
            }
        }

        return null;
    }
}
