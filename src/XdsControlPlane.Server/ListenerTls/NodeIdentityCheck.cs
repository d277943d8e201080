using System.Security.Cryptography.X509Certificates;
using Grpc.Core;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>A refused node: the gRPC status (PERMISSION_DENIED, or UNAVAILABLE when the token could not be reviewed) and why.</summary>
/// <param name="Status">The status the stream ends with.</param>
/// <param name="Refusal">The reason and the sentence.</param>
internal sealed record NodeIdentityRefusal(StatusCode Status, NodeRefusal Refusal);

/// <summary>
/// Who a node is and whether it may have what it asks for: the client certificate's SPIFFE ID, the ServiceAccount of the
/// token it sends (with token review on), both — then they must name the same ServiceAccount — or neither (served
/// anonymously unless token review is <see cref="TokenReviewMode.Required"/>); the identity is then held against the
/// node's role by <see cref="NodeIdentityPolicy"/>, whichever way it was proved.
/// </summary>
internal sealed class NodeIdentityCheck(NodeIdentityPolicy policy, ServiceAccountTokenVerifier? tokens, TokenReviewMode mode)
{
    /// <summary>The reason of a certificate and a token that name different ServiceAccounts.</summary>
    public const string Mismatch = "identity_mismatch";

    /// <summary>The reason of a stream without a certificate or a token when token review is required.</summary>
    public const string NoIdentity = "no_identity";

    /// <summary>Null when node <paramref name="nodeId"/> may receive <paramref name="role"/>'s configuration, else the refusal.</summary>
    /// <param name="nodeId">The node's id as sent (printable, capped).</param>
    /// <param name="role">The node group the server put the node in.</param>
    /// <param name="certificate">The client's certificate, or null.</param>
    /// <param name="authorization">The <c>authorization</c> metadata values the call carried.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    public async Task<NodeIdentityRefusal?> CheckAsync(string nodeId, string role, X509Certificate2? certificate, IReadOnlyList<string> authorization, CancellationToken cancellationToken)
    {
        var asked = NodeIdentityPolicy.Asked(nodeId, role);
        SpiffeId? byCertificate = null;
        if (certificate is not null && (byCertificate = policy.IdentityOf(nodeId, role, certificate, out var refusal)) is null)
        {
            return Denied(refusal!);
        }

        SpiffeId? byToken = null;
        if (tokens is not null && authorization.Count > 0)
        {
            string? problem = "is sent more than once";
            if (authorization.Count > 1 || ServiceAccountToken.FromMetadata(authorization[0], out problem) is not { } token)
            {
                return Denied(new NodeRefusal(TokenVerdict.Invalid, "token", $"{asked} with a ServiceAccount token that {problem}"));
            }

            var verdict = await tokens.VerifyAsync(token, cancellationToken).ConfigureAwait(false);
            if (verdict.Kind != TokenVerdictKind.Authenticated)
            {
                var sentence = new NodeRefusal(verdict.Reason, "token", $"{asked} with a ServiceAccount token that {verdict.Detail}");
                return new NodeIdentityRefusal(verdict.Kind == TokenVerdictKind.Unavailable ? StatusCode.Unavailable : StatusCode.PermissionDenied, sentence);
            }

            byToken = verdict.Identity;
        }

        if (byCertificate is not null && byToken is not null && byCertificate != byToken)
        {
            return Denied(new NodeRefusal(Mismatch, byCertificate.ToString(), $"{asked} as {byCertificate} (client certificate) with a ServiceAccount token of {byToken}: the certificate and the token must name the same ServiceAccount"));
        }

        if ((byCertificate ?? byToken) is { } identity)
        {
            return policy.Grant(nodeId, role, identity, byCertificate is null ? " (ServiceAccount token)" : "") is { } denied ? Denied(denied) : null;
        }

        return mode == TokenReviewMode.Required
            ? Denied(new NodeRefusal(NoIdentity, "anonymous", $"{asked} without an identity: Xds:TokenReview:Mode (--xds-token-review) is Required, so send a ServiceAccount token as 'authorization: Bearer <token>' metadata or present a client certificate"))
            : null;
    }

    private static NodeIdentityRefusal Denied(NodeRefusal refusal) => new(StatusCode.PermissionDenied, refusal);
}
