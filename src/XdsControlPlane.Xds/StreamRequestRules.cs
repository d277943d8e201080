using System.Globalization;

namespace XdsControlPlane.Xds;

/// <summary>
/// What each request on one stream must satisfy before it is queued, each broken rule a sentence naming the field
/// and the reason: a node on the first request, a type URL on every ADS request (of bounded length, at most
/// <see cref="MaxTypesPerStream"/> of them per stream), and on a per-type service only that service's type. Owned by
/// the stream's reader loop.
/// </summary>
/// <param name="fixedTypeUrl">The one type a per-type service serves, or <see langword="null"/> for ADS.</param>
/// <param name="delta">Delta rather than State of the World (for the wording).</param>
internal sealed class StreamRequestRules(string? fixedTypeUrl, bool delta)
{
    /// <summary>The longest <c>type_url</c> accepted (Envoy's are under 100 characters).</summary>
    public const int MaxTypeUrlLength = 256;

    /// <summary>The most types one stream may ask for (Envoy uses about ten): what a stream keeps grows with each.</summary>
    public const int MaxTypesPerStream = 16;

    private readonly HashSet<string> _types = new(StringComparer.Ordinal);

    /// <summary>Why a request with <paramref name="typeUrl"/> (and a node, or not) must end the stream, or <see langword="null"/> when it is accepted.</summary>
    public string? Check(string typeUrl, bool hasNode)
    {
        if (_types.Count == 0 && !hasNode)
        {
            // Without a node the client cannot be grouped, shown or told apart (Envoy and gRPC always send it first).
            return "node is required on the first request of a stream";
        }

        if (fixedTypeUrl is null && string.IsNullOrEmpty(typeUrl))
        {
            return $"type_url is required on every {(delta ? "Delta ADS" : "ADS")} request";
        }

        if (typeUrl.Length > MaxTypeUrlLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"type_url must be at most {MaxTypeUrlLength} characters, got {typeUrl.Length}");
        }

        if (fixedTypeUrl is not null && typeUrl.Length > 0 && typeUrl != fixedTypeUrl)
        {
            return $"type_url {ClientText.Printable(typeUrl, MaxTypeUrlLength)} cannot be requested on the {TypeUrls.ShortName(fixedTypeUrl)} service, which serves {fixedTypeUrl}";
        }

        var type = fixedTypeUrl ?? typeUrl;
        if (!_types.Contains(type) && _types.Count >= MaxTypesPerStream)
        {
            return string.Create(CultureInfo.InvariantCulture, $"type_url {ClientText.Printable(type, MaxTypeUrlLength)} would be type {_types.Count + 1} on this stream; at most {MaxTypesPerStream} are served per stream");
        }

        _types.Add(type);
        return null;
    }
}
