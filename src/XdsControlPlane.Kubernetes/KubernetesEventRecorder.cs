using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Records core/v1 Events about the objects the controllers act on (what <c>kubectl describe</c> and
/// <c>kubectl get events</c> show). Best effort: a failed Event write is logged and never fails a reconcile.
/// </summary>
internal sealed class KubernetesEventRecorder(IKubernetes client, TimeProvider clock, ILogger logger, string component)
{
    /// <summary>Records <paramref name="reason"/> (CamelCase) and <paramref name="message"/> about <paramref name="subject"/>; <paramref name="type"/> is <c>Normal</c> or <c>Warning</c>.</summary>
    public async Task RecordAsync(V1ObjectReference subject, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var body = new Corev1Event
        {
            Metadata = new V1ObjectMeta
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"{subject.Name}.{now.Ticks:x}{Random.Shared.Next(0x1000):x3}"),
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
