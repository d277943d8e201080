using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sandboxctl.PortForward;

/// <summary>
/// Finds a ready pod (phase Running, condition Ready=True, not being deleted) for a target, and the pod port of each
/// requested port: a Service port maps to its <c>targetPort</c> (a number, or a named container port); a name is
/// looked up among the pod's container ports.
/// </summary>
internal sealed class PortForwardTargetResolver(IKubernetes client, string ns, PortForwardTarget target, IReadOnlyList<PortMapping> mappings)
{
    /// <summary>The Service last read (a Service's ports map to its pods' ports).</summary>
    private V1Service? _service;

    public string Namespace { get; } = ns;

    public PortForwardTarget Target { get; } = target;

    /// <summary>Throws a user error (exit 1) when the target does not exist, or has no selector to find pods by.</summary>
    public async Task EnsureExistsAsync(CancellationToken cancellationToken)
    {
        var found = Target.Kind switch
        {
            PortForwardTargetKind.Pod => await GetAsync(() => client.CoreV1.ReadNamespacedPodAsync(Target.Name, Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false) is not null,
            PortForwardTargetKind.Deployment => await SelectorAsync(cancellationToken).ConfigureAwait(false) is not null,
            _ => await SelectorAsync(cancellationToken).ConfigureAwait(false) is not null,
        };
        if (!found)
        {
            var kind = Target.Kind.ToString().ToLowerInvariant();
            throw new CliException($"{kind} {Namespace}/{Target.Name} not found.", $"List them with: kubectl get {kind}s -n {Namespace}", ExitCodes.UserError);
        }
    }

    /// <summary>A ready pod of the target now, or null when there is none (or the target is gone).</summary>
    public async Task<ForwardingPod?> FindReadyPodAsync(CancellationToken cancellationToken)
    {
        if (Target.Kind == PortForwardTargetKind.Pod)
        {
            var pod = await GetAsync(() => client.CoreV1.ReadNamespacedPodAsync(Target.Name, Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return pod is not null && IsReady(pod) ? Forwarding(pod) : null;
        }

        if (await SelectorAsync(cancellationToken).ConfigureAwait(false) is not { } selector)
        {
            return null;
        }

        var pods = await CallAsync(() => client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: selector, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var ready = pods.Items.Where(IsReady).OrderBy(p => p.Metadata.CreationTimestamp).ThenBy(p => p.Metadata.Name, StringComparer.Ordinal).FirstOrDefault();
        return ready is null ? null : Forwarding(ready);
    }

    /// <summary>Whether <paramref name="pod"/> still exists (same uid) and is ready; null when it is gone.</summary>
    public async Task<bool?> IsStillReadyAsync(ForwardingPod pod, CancellationToken cancellationToken)
    {
        var current = await GetAsync(() => client.CoreV1.ReadNamespacedPodAsync(pod.Name, Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (current is null || current.Metadata.Uid != pod.Uid || current.Metadata.DeletionTimestamp is not null)
        {
            return null;
        }

        return IsReady(current);
    }

    public static bool IsReady(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is null
        && pod.Status?.Phase == "Running"
        && pod.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    /// <summary>The label selector of the Deployment (all of it: labels and expressions) or Service, or null when it does not exist.</summary>
    private async Task<string?> SelectorAsync(CancellationToken cancellationToken)
    {
        string? selector;
        try
        {
            if (Target.Kind == PortForwardTargetKind.Deployment)
            {
                var deployment = await GetAsync(() => client.AppsV1.ReadNamespacedDeploymentAsync(Target.Name, Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (deployment is null)
                {
                    return null;
                }

                selector = LabelSelectorQuery.Of(deployment.Spec?.Selector);
            }
            else
            {
                var service = await GetAsync(() => client.CoreV1.ReadNamespacedServiceAsync(Target.Name, Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (service is null)
                {
                    return null;
                }

                _service = service;
                selector = LabelSelectorQuery.Of(service.Spec?.Selector, null);
            }
        }
        catch (FormatException e)
        {
            throw new CliException($"{Target} in {Namespace} has an invalid selector: {e.Message}.", "Fix its spec.selector, or forward to a pod instead: pod/NAME.", ExitCodes.UserError);
        }

        return selector ?? throw new CliException($"{Target} in {Namespace} has no selector, so it has no pods to forward to.", "Forward to a pod instead: pod/NAME.", ExitCodes.UserError);
    }

    private ForwardingPod Forwarding(V1Pod pod) => new(pod.Metadata.Name, pod.Metadata.Uid, [.. mappings.Select(m => PodPort(pod, m))]);

    private int PodPort(V1Pod pod, PortMapping mapping)
    {
        var port = mapping.RemotePort;
        if (Target.Kind == PortForwardTargetKind.Service && _service is not null)
        {
            var servicePort = _service.Spec?.Ports?.FirstOrDefault(p => mapping.RemoteNumber is { } n ? p.Port == n : p.Name == port)
                ?? throw new CliException(
                    $"{Target} in {Namespace} has no port {port}.",
                    $"Its ports: {string.Join(", ", _service.Spec?.Ports?.Select(p => p.Name is null ? $"{p.Port}" : $"{p.Port} ({p.Name})") ?? [])}.",
                    ExitCodes.UserError);
            port = servicePort.TargetPort?.Value is { Length: > 0 } target ? target : servicePort.Port.ToString(CultureInfo.InvariantCulture);
        }

        if (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        return pod.Spec?.Containers?.SelectMany(c => c.Ports ?? []).FirstOrDefault(p => p.Name == port)?.ContainerPort
            ?? throw new CliException($"pod {pod.Metadata.Name} has no container port named {port}.", "Give the port number instead.", ExitCodes.UserError);
    }

    /// <summary>A GET that gives null for 404.</summary>
    private static async Task<T?> GetAsync<T>(Func<Task<T>> call)
        where T : class
    {
        try
        {
            return await CallAsync(call).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode != HttpStatusCode.NotFound)
        {
            throw new CliException($"the cluster answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {e.Response.Content}", "Check your permissions (get and list pods, get deployments and services, create pods/portforward).", ExitCodes.ConnectionError);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError);
        }
    }
}
