using k8s.Models;

namespace Sandboxctl.Local.PodEnvironment;

/// <summary>A container's environment as resolved: the variables in the order first defined, and what was left out (names and reasons, never values).</summary>
internal sealed record ResolvedEnvironment(IReadOnlyList<KeyValuePair<string, string>> Variables, IReadOnlyList<string> Withheld);

/// <summary>
/// Resolves a container's environment as the kubelet builds it: <c>envFrom</c> sources in order (a <c>prefix</c>
/// added; a later source wins), then <c>env</c> in order — literal values with <c>$(VAR)</c> expanded against what
/// is defined so far (<see cref="EnvExpansion"/>), <c>valueFrom</c> ConfigMap and Secret keys (read by
/// <see cref="EnvSourceReader"/>), the downward API (<see cref="DownwardApi"/>). An optional reference that is missing is
/// skipped, as in the pod; a required one that is missing, one the user may not read (403) and a name no dotenv file
/// can hold are left out and named in <see cref="ResolvedEnvironment.Withheld"/>. The Service variables the kubelet
/// adds (<c>*_SERVICE_HOST</c>) are not: their cluster IPs mean nothing on the laptop.
/// </summary>
internal sealed class ContainerEnvironment(EnvSourceReader sources)
{
    /// <summary>The environment of <paramref name="container"/> in <paramref name="pod"/>.</summary>
    public async Task<ResolvedEnvironment> ResolveAsync(V1Pod pod, V1Container container, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(container);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        var withheld = new List<string>();
        void Set(string name, string value)
        {
            if (values.TryAdd(name, value))
            {
                order.Add(name);
            }
            else
            {
                values[name] = value;
            }
        }

        foreach (var from in container.EnvFrom ?? [])
        {
            var (source, optional) = from.ConfigMapRef is { } configMap
                ? (await sources.ConfigMapAsync(configMap.Name, cancellationToken).ConfigureAwait(false), configMap.Optional == true)
                : from.SecretRef is { } secret ? (await sources.SecretAsync(secret.Name, cancellationToken).ConfigureAwait(false), secret.Optional == true)
                : (null, true);
            if (source is null || (source.State == EnvSourceState.NotFound && optional))
            {
                continue;
            }

            if (source.State != EnvSourceState.Found)
            {
                withheld.Add($"envFrom: {source.Problem}");
                continue;
            }

            foreach (var (key, value) in source.Data.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                Set((from.Prefix ?? "") + key, value);
            }
        }

        foreach (var variable in container.Env ?? [])
        {
            if (variable.Name is null)
            {
                continue;
            }

            if (variable.ValueFrom is null)
            {
                Set(variable.Name, EnvExpansion.Expand(variable.Value ?? "", values));
                continue;
            }

            var (value, problem) = await ValueFromAsync(pod, container, variable.ValueFrom, cancellationToken).ConfigureAwait(false);
            if (value is not null)
            {
                Set(variable.Name, value);
            }
            else if (problem is not null)
            {
                withheld.Add($"{variable.Name}: {problem}");
            }
        }

        var written = new List<KeyValuePair<string, string>>();
        foreach (var name in order)
        {
            if (DotenvFile.IsName(name))
            {
                written.Add(new(name, values[name]));
            }
            else
            {
                withheld.Add($"{name}: not a name a dotenv file or shell can hold");
            }
        }

        return new ResolvedEnvironment(written, withheld);
    }

    /// <summary>The value of a <c>valueFrom</c>; (null, null) for an optional reference that is missing (skipped, as in the pod).</summary>
    private async Task<(string? Value, string? Problem)> ValueFromAsync(V1Pod pod, V1Container container, V1EnvVarSource from, CancellationToken cancellationToken)
    {
        if (from.ConfigMapKeyRef is { } configMapKey)
        {
            return Key(await sources.ConfigMapAsync(configMapKey.Name, cancellationToken).ConfigureAwait(false), configMapKey.Key, configMapKey.Optional == true);
        }

        if (from.SecretKeyRef is { } secretKey)
        {
            return Key(await sources.SecretAsync(secretKey.Name, cancellationToken).ConfigureAwait(false), secretKey.Key, secretKey.Optional == true);
        }

        if (from.FieldRef is { } field)
        {
            return DownwardApi.Field(pod, field.FieldPath);
        }

        return from.ResourceFieldRef is { } resource
            ? DownwardApi.Resource(pod, container, resource)
            : (null, "a valueFrom this sandboxctl does not know");
    }

    private static (string? Value, string? Problem) Key(EnvSource source, string key, bool optional) => source.State switch
    {
        EnvSourceState.Found when source.Data.TryGetValue(key, out var value) => (value, null),
        EnvSourceState.Found => optional ? (null, null) : (null, $"{source} has no key {key}"),
        EnvSourceState.NotFound when optional => (null, null),
        _ => (null, source.Problem),
    };
}
