using System.Globalization;
using k8s.Models;

namespace Sandboxctl.Local.PodEnvironment;

/// <summary>
/// The downward API of a pod as an environment sees it: <c>fieldRef</c> (metadata.name, .namespace, .uid,
/// <c>metadata.labels['KEY']</c>, <c>metadata.annotations['KEY']</c>, spec.nodeName, spec.serviceAccountName,
/// status.podIP(s), status.hostIP(s)) and <c>resourceFieldRef</c> (a container's requests and limits of cpu, memory
/// and ephemeral-storage, divided and rounded up as the kubelet does). Each answers a value or why there is none.
/// </summary>
internal static class DownwardApi
{
    /// <summary>The value of <paramref name="fieldPath"/> of <paramref name="pod"/>, or the problem.</summary>
    public static (string? Value, string? Problem) Field(V1Pod pod, string? fieldPath)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var value = fieldPath switch
        {
            "metadata.name" => pod.Metadata?.Name,
            "metadata.namespace" => pod.Metadata?.NamespaceProperty,
            "metadata.uid" => pod.Metadata?.Uid,
            "spec.nodeName" => pod.Spec?.NodeName,
            "spec.serviceAccountName" => pod.Spec?.ServiceAccountName,
            "status.podIP" => pod.Status?.PodIP,
            "status.podIPs" => string.Join(',', pod.Status?.PodIPs?.Select(ip => ip.Ip) ?? []),
            "status.hostIP" => pod.Status?.HostIP,
            "status.hostIPs" => string.Join(',', pod.Status?.HostIPs?.Select(ip => ip.Ip) ?? []),
            _ when Subscript(fieldPath, "metadata.labels") is { } label => pod.Metadata?.Labels?.TryGetValue(label, out var text) == true ? text : "",
            _ when Subscript(fieldPath, "metadata.annotations") is { } annotation => pod.Metadata?.Annotations?.TryGetValue(annotation, out var text) == true ? text : "",
            _ => null,
        };
        return value is null ? (null, $"fieldRef {fieldPath} is not one this sandboxctl reads") : (value, null);
    }

    /// <summary>The value of <paramref name="selector"/> for <paramref name="container"/> of <paramref name="pod"/>, or the problem.</summary>
    public static (string? Value, string? Problem) Resource(V1Pod pod, V1Container container, V1ResourceFieldSelector selector)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(selector);
        var target = string.IsNullOrEmpty(selector.ContainerName) ? container : pod.Spec?.Containers?.FirstOrDefault(c => c.Name == selector.ContainerName);
        if (target is null)
        {
            return (null, $"resourceFieldRef names container {selector.ContainerName}, which the pod does not have");
        }

        var (kind, resource) = (selector.Resource ?? "").Split('.', 2) is [var k, var r] ? (k, r) : ("", selector.Resource ?? "");
        if (kind is not ("limits" or "requests") || resource is not ("cpu" or "memory" or "ephemeral-storage"))
        {
            return (null, $"resourceFieldRef {selector.Resource} is not one this sandboxctl reads");
        }

        var quantities = kind == "limits" ? target.Resources?.Limits : target.Resources?.Requests;
        if (quantities?.TryGetValue(resource, out var quantity) != true || quantity is null)
        {
            // Without a limit the kubelet gives the node's allocatable amount (not read); a missing request is 0.
            return kind == "limits" ? (null, $"resourceFieldRef {selector.Resource}: the container sets no limit (the pod gets the node's allocatable amount, not read)") : ("0", null);
        }

        var divisor = selector.Divisor?.ToDecimal() is { } d and > 0 ? d : 1m;
        var amount = quantity.ToDecimal();
        return (Math.Ceiling(amount / divisor).ToString("0", CultureInfo.InvariantCulture), null);
    }

    /// <summary>KEY of <c>prefix['KEY']</c>, or null.</summary>
    private static string? Subscript(string? path, string prefix) =>
        path is not null && path.StartsWith(prefix + "['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal) && path.Length > prefix.Length + 4
            ? path[(prefix.Length + 2)..^2]
            : null;
}
