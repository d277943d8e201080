using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Records core/v1 Events about the objects the controllers act on (what <c>kubectl describe</c> and
/// <c>kubectl get events</c> show). Best effort: a failed Event write is logged and never fails a reconcile.
/// </summary>
/// <param name="client">The API server.</param>
/// <param name="clock">Time, for the Event's timestamps and name.</param>
/// <param name="logger">Where failed Event writes are logged.</param>
/// <param name="component">The component the Events are from.</param>
/// <param name="random">The random part of Event names (seeded in tests); the recorder draws from it under a lock, as reconciles run in parallel.</param>
internal sealed class KubernetesEventRecorder(IKubernetes client, TimeProvider clock, ILogger logger, string component, Random random)
{
    private readonly Lock _gate = new();

    /// <summary>Records <paramref name="reason"/> (CamelCase) and <paramref name="message"/> about <paramref name="subject"/>; <paramref name="type"/> is <c>Normal</c> or <c>Warning</c>.</summary>
    public async Task RecordAsync(V1ObjectReference subject, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        int suffix;
        lock (_gate)
        {
            suffix = random.Next(0x1000);
        }

        var body = new Corev1Event
        {
            Metadata = new V1ObjectMeta
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"{subject.Name}.{now.Ticks:x}{suffix:x3}"),
                NamespaceProperty = subject.NamespaceProperty,
            },
            InvolvedObject = subject,
            Type = type,
            Reason = reason,
            Message = message,
            Count = 1,
            FirstTimestamp = now,
            LastTimestamp = now,
            Source = new V1EventSource { Component = component },
            ReportingComponent = component,
        };
        try
        {
            await client.CoreV1.CreateNamespacedEventAsync(body, subject.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            KubernetesLog.EventFailed(logger, $"{subject.NamespaceProperty}/{subject.Name}", reason, e.Message);
        }
    }
}
