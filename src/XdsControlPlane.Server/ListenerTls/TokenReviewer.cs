using k8s;
using k8s.Autorest;
using k8s.Models;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>What the API server said of a token: authenticated or not, as whom, for which audiences, and its error text.</summary>
/// <param name="Authenticated"><c>status.authenticated</c>.</param>
/// <param name="Username"><c>status.user.username</c>.</param>
/// <param name="Audiences"><c>status.audiences</c>: those of the review's audiences the token is valid for.</param>
/// <param name="Error"><c>status.error</c>.</param>
internal sealed record TokenReviewAnswer(bool Authenticated, string? Username, IReadOnlyList<string> Audiences, string? Error);

/// <summary>The API server could not review a token (unreachable, an error status, a timeout): retryable, not the token's fault.</summary>
internal sealed class TokenReviewFailedException(string reason, Exception? inner = null) : Exception(reason, inner)
{
    /// <summary>Why, fit to log: no token, no request body.</summary>
    public string Reason => Message;
}

/// <summary>Asks the API server whom a bearer token names (<c>authentication.k8s.io/v1</c> TokenReview).</summary>
internal interface ITokenReviewer
{
    /// <summary>The API server's answer for <paramref name="token"/> and <paramref name="audience"/>.</summary>
    /// <exception cref="TokenReviewFailedException">The API server did not answer with a review.</exception>
    Task<TokenReviewAnswer> ReviewAsync(string token, string audience, CancellationToken cancellationToken);
}

/// <summary>TokenReview through the KubernetesClient: one <c>create</c> of <c>tokenreviews</c> per call (the control plane's ServiceAccount needs that permission).</summary>
internal sealed class KubernetesTokenReviewer(k8s.IKubernetes client) : ITokenReviewer
{
    /// <inheritdoc />
    public async Task<TokenReviewAnswer> ReviewAsync(string token, string audience, CancellationToken cancellationToken)
    {
        var review = new V1TokenReview
        {
            ApiVersion = "authentication.k8s.io/v1",
            Kind = "TokenReview",
            Spec = new V1TokenReviewSpec { Token = token, Audiences = [audience] },
        };
        V1TokenReview answer;
        try
        {
            answer = await client.AuthenticationV1.CreateTokenReviewAsync(review, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            // The response's body is the API server's Status; the request (which holds the token) is not quoted.
            throw new TokenReviewFailedException($"the API server answered the TokenReview with HTTP {(int)e.Response.StatusCode} {e.Response.ReasonPhrase}", e);
        }
        catch (HttpRequestException e)
        {
            throw new TokenReviewFailedException($"the API server did not answer the TokenReview: {e.Message}", e);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
        {
            throw new TokenReviewFailedException("the API server's TokenReview answer did not parse", e);
        }

        var status = answer?.Status;
        return status is null
            ? throw new TokenReviewFailedException("the API server's TokenReview answer has no status")
            : new TokenReviewAnswer(status.Authenticated == true, status.User?.Username, [.. status.Audiences ?? []], status.Error);
    }
}
