using Envoy.Service.Auth.V3;
using Grpc.Core;

namespace XdsControlPlane.Server.Previews;

/// <summary>
/// <c>envoy.service.auth.v3.Authorization</c> for the gateway's <c>ext_authz</c> filter on preview hosts, served on the
/// xDS port by every replica, each deciding alone from what it holds in memory (grants, owners, the session key): no
/// call leaves the process. Reads the request (<see cref="PreviewCheck"/>), decides (<see cref="PreviewAccessDecider"/>),
/// answers (<see cref="PreviewCheckResponses"/>), logs one access-log line and counts the decision. Whatever goes
/// wrong while deciding is a refusal, never a gRPC error carrying a stack trace.
/// </summary>
internal sealed class PreviewAuthorizationService(
    PreviewAccessDecider decider, PreviewSessionKey key, PreviewAccessMetrics metrics, TimeProvider time, ILogger<PreviewAuthorizationService> logger) : Authorization.AuthorizationBase
{
    /// <summary>The largest CheckRequest read (Envoy's own request-header limit is 60 KiB by default; bodies are not sent).</summary>
    public const int MaxRequestBytes = 128 * 1024;

    /// <inheritdoc />
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        PreviewCheck? check = null;
        PreviewDecision decision;
        try
        {
            (check, var problem) = PreviewCheck.Read(request);
            // A public preview opens whatever credential the request carries, well formed or not.
            decision = problem is null || check?.Preview.Access == Model.Preview.Public
                ? decider.Decide(check!, now, key.Current)
                : new PreviewDecision(problem == PreviewReasons.NotAPreview ? PreviewOutcome.Forbidden : PreviewOutcome.Unauthenticated, problem);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            PreviewAccessLog.Failed(logger, check?.Preview.Host ?? "-", e);
            decision = new PreviewDecision(PreviewOutcome.Forbidden, PreviewReasons.Error);
        }

        var outcome = decision.Outcome switch
        {
            PreviewOutcome.Allow => "allow",
            PreviewOutcome.Redirect => "redirect",
            _ => "deny",
        };
        metrics.Decided(outcome, decision.Reason, check?.Preview.Access ?? "unknown");
        if (logger.IsEnabled(LogLevel.Information))
        {
            Log(request, check, decision, outcome);
        }

        return Task.FromResult(PreviewCheckResponses.For(decision, check, now));
    }

    /// <summary>The access-log line of one decision: host, method, decision, reason, subject (the grant and its creator), client; never a credential.</summary>
    private void Log(CheckRequest request, PreviewCheck? check, PreviewDecision decision, string outcome)
    {
        var source = Source(request);
        if (check is null)
        {
            var host = Bounded(request.Attributes?.Request?.Http?.Host);
            PreviewAccessLog.Unreadable(logger, decision.Reason, host, source);
            return;
        }

        var grant = decision.Grant;
        var method = Bounded(check.Method);
        var subject = grant is null ? "-" : grant.Metadata.Namespace + "/" + grant.Metadata.Name;
        var creator = grant?.Metadata.Annotations.GetValueOrDefault(Webhook.CreatorReviewer.CreatedBy) ?? "-";
        PreviewAccessLog.Decided(logger, check.Preview.Host, method, outcome, decision.Reason, subject, creator, source);
    }

    /// <summary>The downstream client's address, as Envoy reports it.</summary>
    private static string Source(CheckRequest request) =>
        request.Attributes?.Source?.Address?.SocketAddress is { } socket ? Bounded(socket.Address) + ":" + socket.PortValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";

    /// <summary>A value for the log: at most 64 characters of it, control characters replaced (no forged log lines).</summary>
    private static string Bounded(string? value)
    {
        if (value is null or { Length: 0 })
        {
            return "-";
        }

        if (value.Length <= 64 && !value.AsSpan().ContainsAnyInRange('\0', '\u001f') && !value.AsSpan().ContainsAnyInRange('\u007f', '\u009f'))
        {
            // The common case (a method, an address): logged as it is, no copy.
            return value;
        }

        var text = value.Length <= 64 ? value : value[..64] + "…";
        return string.Create(text.Length, text, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}
