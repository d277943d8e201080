using System.Globalization;
using System.Net;
using k8s.Autorest;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// The wait an API server asks for in <c>Retry-After</c> (on 429 Too Many Requests, or 503 while it starts): seconds or
/// an HTTP date, at most <see cref="Cap"/> (a hostile or broken answer cannot park a client for hours).
/// </summary>
internal static class ApiRetryAfter
{
    /// <summary>The longest wait honoured.</summary>
    public static readonly TimeSpan Cap = TimeSpan.FromMinutes(1);

    /// <summary>The wait <paramref name="failure"/>'s answer asks for; null when it asks for none.</summary>
    public static TimeSpan? Of(Exception failure, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        if (failure is not HttpOperationException { Response: { } response } || response.Headers is not { } headers)
        {
            return null;
        }

        var value = headers.FirstOrDefault(h => string.Equals(h.Key, "Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault()?.Trim();
        if (string.IsNullOrEmpty(value) || value.Length > 64)
        {
            return null;
        }

        TimeSpan wait;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            wait = TimeSpan.FromSeconds(seconds);
        }
        else if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            wait = at - clock.GetUtcNow();
        }
        else
        {
            return null;
        }

        return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait > Cap ? Cap : wait;
    }

    /// <summary>Whether <paramref name="failure"/> is the API server (or the network) failing for now, which a retry may get past.</summary>
    public static bool IsTransient(Exception failure) => failure switch
    {
        HttpRequestException => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError } => true,
        _ => false,
    };
}
