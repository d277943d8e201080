using System.Globalization;
using System.Text.Json;

namespace XdsControlPlane.Kubernetes.Admission.Injection;

/// <summary>A container of the pod as far as injection cares: its name, the ports it declares and its user.</summary>
/// <param name="Path">Its JSON path in the pod (<c>spec.containers[0]</c>), for messages.</param>
/// <param name="Name">The container's name.</param>
/// <param name="Ports">The declared container ports, each with its path.</param>
/// <param name="RunAsUser">The container's <c>securityContext.runAsUser</c>, when set.</param>
internal sealed record ContainerShape(string Path, string Name, IReadOnlyList<(string Path, long Port)> Ports, long? RunAsUser);

/// <summary>
/// The parts of a pod (AdmissionRequest <c>object</c>) the injector decides on, read without trusting the shape: a
/// field of the wrong type is a <see cref="MalformedPodException"/> naming it, never another exception.
/// </summary>
/// <param name="HasMetadata">Whether <c>metadata</c> is present.</param>
/// <param name="Annotations">The annotations (string values only), or null when the map is absent.</param>
/// <param name="Labels">The labels, empty when absent.</param>
/// <param name="HostNetwork">Whether <c>spec.hostNetwork</c> is true.</param>
/// <param name="RestartPolicy">The pod's <c>spec.restartPolicy</c> (<c>Always</c> when absent).</param>
/// <param name="RunAsUser">The pod's <c>spec.securityContext.runAsUser</c>, when set.</param>
/// <param name="Containers">The containers.</param>
/// <param name="InitContainers">The init containers, or null when the array is absent.</param>
/// <param name="Volumes">The names of the pod's volumes, each with its path, or null when <c>spec.volumes</c> is absent.</param>
internal sealed record PodShape(
    bool HasMetadata,
    IReadOnlyDictionary<string, string>? Annotations,
    IReadOnlyDictionary<string, string> Labels,
    bool HostNetwork,
    string RestartPolicy,
    long? RunAsUser,
    IReadOnlyList<ContainerShape> Containers,
    IReadOnlyList<ContainerShape>? InitContainers,
    IReadOnlyList<(string Path, string Name)>? Volumes = null)
{
    /// <summary>The most volumes read; the API server allows far fewer in practice.</summary>
    public const int MaxVolumes = 1000;

    /// <summary>The most containers (or init containers) read; the API server allows far fewer in practice.</summary>
    public const int MaxContainers = 1000;

    /// <summary>Reads <paramref name="pod"/>.</summary>
    /// <exception cref="MalformedPodException">A field the injector reads has the wrong type.</exception>
    public static PodShape Read(JsonElement pod)
    {
        if (pod.ValueKind != JsonValueKind.Object)
        {
            throw new MalformedPodException("object", $"must be a Pod object, got {Kind(pod)}");
        }

        var metadata = Optional(pod, "metadata", "metadata", JsonValueKind.Object);
        var annotations = metadata is { } m ? StringMap(m, "metadata.annotations") : null;
        var labels = metadata is { } l ? StringMap(l, "metadata.labels") ?? new Dictionary<string, string>() : new Dictionary<string, string>();
        var spec = Optional(pod, "spec", "spec", JsonValueKind.Object) ?? throw new MalformedPodException("spec", "is missing");
        var hostNetwork = Optional(spec, "hostNetwork", "spec.hostNetwork", JsonValueKind.True, JsonValueKind.False)?.ValueKind == JsonValueKind.True;
        var restartPolicy = Optional(spec, "restartPolicy", "spec.restartPolicy", JsonValueKind.String)?.GetString() ?? "Always";
        var securityContext = Optional(spec, "securityContext", "spec.securityContext", JsonValueKind.Object);
        var runAsUser = securityContext is { } sc ? Integer(sc, "runAsUser", "spec.securityContext.runAsUser") : null;
        var containers = ReadContainers(spec, "containers") ?? throw new MalformedPodException("spec.containers", "is missing");
        if (containers.Count == 0)
        {
            throw new MalformedPodException("spec.containers", "must hold at least one container");
        }

        return new PodShape(metadata is not null, annotations, labels, hostNetwork, restartPolicy, runAsUser, containers, ReadContainers(spec, "initContainers"), ReadVolumes(spec));
    }

    private static List<(string Path, string Name)>? ReadVolumes(JsonElement spec)
    {
        if (Optional(spec, "volumes", "spec.volumes", JsonValueKind.Array) is not { } array)
        {
            return null;
        }

        if (array.GetArrayLength() > MaxVolumes)
        {
            throw new MalformedPodException("spec.volumes", $"holds more than {MaxVolumes.ToString(CultureInfo.InvariantCulture)} volumes");
        }

        var volumes = new List<(string, string)>();
        foreach (var volume in array.EnumerateArray())
        {
            var at = $"spec.volumes[{volumes.Count.ToString(CultureInfo.InvariantCulture)}]";
            if (volume.ValueKind != JsonValueKind.Object)
            {
                throw new MalformedPodException(at, $"must be a volume object, got {Kind(volume)}");
            }

            volumes.Add(($"{at}.name", Optional(volume, "name", $"{at}.name", JsonValueKind.String)?.GetString() ?? ""));
        }

        return volumes;
    }

    private static List<ContainerShape>? ReadContainers(JsonElement spec, string field)
    {
        var path = $"spec.{field}";
        if (Optional(spec, field, path, JsonValueKind.Array) is not { } array)
        {
            return null;
        }

        if (array.GetArrayLength() > MaxContainers)
        {
            throw new MalformedPodException(path, $"holds more than {MaxContainers.ToString(CultureInfo.InvariantCulture)} containers");
        }

        var containers = new List<ContainerShape>();
        foreach (var container in array.EnumerateArray())
        {
            var at = $"{path}[{containers.Count.ToString(CultureInfo.InvariantCulture)}]";
            if (container.ValueKind != JsonValueKind.Object)
            {
                throw new MalformedPodException(at, $"must be a container object, got {Kind(container)}");
            }

            var name = Optional(container, "name", $"{at}.name", JsonValueKind.String)?.GetString() ?? "";
            var ports = new List<(string, long)>();
            if (Optional(container, "ports", $"{at}.ports", JsonValueKind.Array) is { } declared)
            {
                foreach (var port in declared.EnumerateArray())
                {
                    var portAt = $"{at}.ports[{ports.Count.ToString(CultureInfo.InvariantCulture)}]";
                    if (port.ValueKind != JsonValueKind.Object)
                    {
                        throw new MalformedPodException(portAt, $"must be a port object, got {Kind(port)}");
                    }

                    ports.Add(($"{portAt}.containerPort", Integer(port, "containerPort", $"{portAt}.containerPort") ?? 0));
                }
            }

            var user = Optional(container, "securityContext", $"{at}.securityContext", JsonValueKind.Object) is { } context
                ? Integer(context, "runAsUser", $"{at}.securityContext.runAsUser")
                : null;
            containers.Add(new ContainerShape(at, name, ports, user));
        }

        return containers;
    }

    private static Dictionary<string, string>? StringMap(JsonElement parent, string path)
    {
        var name = path[(path.LastIndexOf('.') + 1)..];
        if (Optional(parent, name, path, JsonValueKind.Object) is not { } map)
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new MalformedPodException($"{path}[{entry.Name}]", $"must be a string, got {Kind(entry.Value)}");
            }

            values[entry.Name] = entry.Value.GetString()!;
        }

        return values;
    }

    private static long? Integer(JsonElement parent, string name, string path) =>
        Optional(parent, name, path, JsonValueKind.Number) is { } number
            ? number.TryGetInt64(out var value) ? value : throw new MalformedPodException(path, "must be an integer")
            : null;

    /// <summary>The member <paramref name="name"/> when present and not null; a present value of another kind than <paramref name="kinds"/> is malformed.</summary>
    private static JsonElement? Optional(JsonElement parent, string name, string path, params JsonValueKind[] kinds)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return kinds.Contains(value.ValueKind) ? value : throw new MalformedPodException(path, $"must be {Expected(kinds[0])}, got {Kind(value)}");
    }

    private static string Expected(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        _ => "a boolean",
    };

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}

/// <summary>A field of the pod has a shape the injector cannot read.</summary>
/// <param name="field">The field's path (<c>spec.containers</c>).</param>
/// <param name="reason">What is wrong with it.</param>
internal sealed class MalformedPodException(string field, string reason) : Exception($"{field} {reason}")
{
    /// <summary>The field's path.</summary>
    public string Field { get; } = field;
}
