using System.Collections.Concurrent;
using XdsControlPlane.Kubernetes.Admission;

namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// Hands each admission request to the reviewer of its resource (<see cref="IAdmissionReviewer.Group"/> and
/// <see cref="IAdmissionReviewer.Resource"/>). A resource no reviewer handles is admitted unchanged with a warning the
/// client sees (the webhook configuration sends what it should not; refusing would block that resource cluster-wide).
/// A reviewer that throws gets no verdict: the endpoint answers 500 and the API server applies the webhook's
/// <c>failurePolicy</c> (Fail refuses, Ignore admits unchanged), logged once per request.
/// </summary>
internal sealed class AdmissionDispatcher
{
    private readonly Dictionary<(string Group, string Resource), IAdmissionReviewer> _reviewers;
    private readonly ConcurrentDictionary<string, bool> _unhandled = new(StringComparer.Ordinal);
    private readonly ILogger<AdmissionDispatcher> _logger;

    /// <summary>Dispatches to <paramref name="reviewers"/>; two for the same resource are a wiring error.</summary>
    /// <exception cref="InvalidOperationException">Two reviewers for one resource.</exception>
    public AdmissionDispatcher(IEnumerable<IAdmissionReviewer> reviewers, ILogger<AdmissionDispatcher> logger)
    {
        _logger = logger;
        _reviewers = [];
        foreach (var reviewer in reviewers)
        {
            if (!_reviewers.TryAdd((reviewer.Group, reviewer.Resource), reviewer))
            {
                throw new InvalidOperationException($"Two admission reviewers for {Name(reviewer.Group, reviewer.Resource)}: {_reviewers[(reviewer.Group, reviewer.Resource)].GetType().Name} and {reviewer.GetType().Name}.");
            }
        }
    }

    /// <summary>The resources reviewed, for the log (<c>pods, sandboxes.sandboxctl.io</c>).</summary>
    public string Resources => _reviewers.Count == 0 ? "none" : string.Join(", ", _reviewers.Keys.Select(k => Name(k.Group, k.Resource)).Order(StringComparer.Ordinal));

    /// <summary>The verdict on <paramref name="subject"/>, or <see langword="null"/> when its reviewer failed.</summary>
    public AdmissionVerdict? Review(AdmissionSubject subject)
    {
        var resource = Name(subject.Group, subject.Resource);
        if (!_reviewers.TryGetValue((subject.Group, subject.Resource), out var reviewer))
        {
            if (_unhandled.TryAdd(resource, true))
            {
                WebhookLog.NoReviewer(_logger, resource);
            }

            return AdmissionVerdict.Unchanged("no reviewer") with
            {
                Warnings = [$"the xds-control-plane admission webhook does not review {resource}; admitted unchanged"],
            };
        }

        AdmissionVerdict verdict;
        try
        {
            verdict = reviewer.Review(subject);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            WebhookLog.ReviewerFailed(_logger, subject.Uid, resource, subject.Namespace, subject.Name, e);
            return null;
        }

        WebhookLog.Reviewed(_logger, subject.Uid, subject.Operation, resource, subject.Namespace, subject.Name, subject.User.Username, verdict.Allowed, verdict.Patch?.Count ?? 0, verdict.Message);
        return verdict;
    }

    private static string Name(string group, string resource) => group.Length == 0 ? resource : $"{resource}.{group}";
}
