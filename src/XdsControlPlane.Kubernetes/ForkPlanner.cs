using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>What one fork of a Sandbox should consist of, or why it cannot be made.</summary>
/// <param name="Baseline">The baseline Deployment's name.</param>
/// <param name="Deployment">The fork Deployment to have (null when <paramref name="Problem"/> is set).</param>
/// <param name="Services">The fork Services to have: one per baseline Service selecting the baseline's pods.</param>
/// <param name="Problem">Why the fork cannot be made (the baseline does not exist…).</param>
internal sealed record PlannedFork(string Baseline, V1Deployment? Deployment, IReadOnlyList<V1Service> Services, string? Problem);

/// <summary>
/// Works out the fork Deployments and Services of a Sandbox from the baseline objects — pure, no I/O. A fork copies
/// its baseline's pod template with the fork's image (first container) and env, runs one replica, and carries
/// labels that no baseline selector matches: the labels baseline Services and the baseline Deployment select on are
/// replaced by <see cref="SandboxLabels.Sandbox"/> and <see cref="SandboxLabels.ForkOfWorkload"/>, so baseline traffic
/// never reaches a fork and the baseline's ReplicaSet never counts its pods. Each baseline Service selecting the
/// baseline's pods gets a fork Service labelled <see cref="SandboxLabels.ForkOf"/>, which is what the translator routes
/// the sandbox's key to. Everything is owned by the Sandbox, so the garbage collector removes it with the Sandbox.
/// </summary>
internal static class ForkPlanner
{
    /// <summary>The annotation holding a digest of what the controller wrote, to tell drift from no change.</summary>
    public const string HashAnnotation = "sandboxctl.io/fork-hash";

    /// <summary>The value of <c>app.kubernetes.io/managed-by</c> on forks.</summary>
    public const string ManagedBy = "sandboxctl";

    private const int MaxNameLength = 63;

    /// <summary>
    /// Plans every fork of <paramref name="sandbox"/> (object uid <paramref name="uid"/>) given the baseline
    /// Deployments found by name (null when absent) and the Services of the sandbox's namespace.
    /// </summary>
    public static IReadOnlyList<PlannedFork> Plan(Sandbox sandbox, string uid, IReadOnlyDictionary<string, V1Deployment?> baselines, IReadOnlyList<V1Service> services)
    {
        var owner = new V1OwnerReference
        {
            ApiVersion = ApiVersions.Sandboxctl,
            Kind = Sandbox.KindName,
            Name = sandbox.Metadata.Name,
            Uid = uid,
            Controller = true,
            BlockOwnerDeletion = true,
        };
        var plans = new List<PlannedFork>();
        foreach (var fork in sandbox.Spec.Forks)
        {
            var name = fork.Of.Name;
            if (baselines.GetValueOrDefault(name) is not { } baseline)
            {
                plans.Add(new PlannedFork(name, null, [], $"baseline Deployment {sandbox.Metadata.Namespace}/{name} does not exist"));
                continue;
            }

            var templateLabels = baseline.Spec?.Template?.Metadata?.Labels ?? new Dictionary<string, string>();
            var selecting = services.Where(s => s.Spec?.Selector is { Count: > 0 } selector && selector.All(l => templateLabels.TryGetValue(l.Key, out var v) && v == l.Value))
                .OrderBy(s => s.Metadata.Name, StringComparer.Ordinal)
                .ToList();
            var selectorKeys = new HashSet<string>(baseline.Spec?.Selector?.MatchLabels?.Keys ?? [], StringComparer.Ordinal);
            selectorKeys.UnionWith(baseline.Spec?.Selector?.MatchExpressions?.Select(e => e.Key) ?? []);
            selectorKeys.UnionWith(selecting.SelectMany(s => s.Spec.Selector.Keys));
            var forkSelector = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [SandboxLabels.Sandbox] = sandbox.Metadata.Name,
                [SandboxLabels.ForkOfWorkload] = name,
            };
            plans.Add(new PlannedFork(
                name,
                ForkDeployment(sandbox, fork, baseline, owner, selectorKeys, forkSelector),
                [.. selecting.Select(s => ForkService(sandbox, s, owner, forkSelector))],
                null));
        }

        return plans;
    }

    /// <summary>
    /// <c>{base}-{sandbox}</c>, or when that is longer than 63 characters a prefix of it and a digest of the whole, so
    /// names stay valid DNS labels and distinct.
    /// </summary>
    public static string ForkName(string baseline, string sandbox)
    {
        var name = $"{baseline}-{sandbox}";
        if (name.Length <= MaxNameLength)
        {
            return name;
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];
        return $"{name[..(MaxNameLength - 9)].TrimEnd('-')}-{digest}";
    }

    private static V1Deployment ForkDeployment(Sandbox sandbox, Fork fork, V1Deployment baseline, V1OwnerReference owner, HashSet<string> selectorKeys, Dictionary<string, string> forkSelector)
    {
        var template = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(baseline.Spec.Template));
        template.Metadata ??= new V1ObjectMeta();
        var podLabels = (template.Metadata.Labels ?? new Dictionary<string, string>())
            .Where(l => !selectorKeys.Contains(l.Key))
            .ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
        foreach (var (key, value) in forkSelector)
        {
            podLabels[key] = value;
        }

        template.Metadata.Labels = podLabels;
        if (template.Spec?.Containers is [var main, ..])
        {
            main.Image = fork.Image ?? main.Image;
            var env = (main.Env ?? []).Where(e => fork.Env.All(f => f.Name != e.Name)).ToList();
            env.AddRange(fork.Env.Select(e => new V1EnvVar { Name = e.Name, Value = e.Value }));
            main.Env = env;
        }

        var spec = new V1DeploymentSpec
        {
            Replicas = 1,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(forkSelector, StringComparer.Ordinal) },
            Template = template,
            Strategy = baseline.Spec.Strategy,
            MinReadySeconds = baseline.Spec.MinReadySeconds,
            ProgressDeadlineSeconds = baseline.Spec.ProgressDeadlineSeconds,
        };
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = ForkMetadata(ForkName(fork.Of.Name, sandbox.Metadata.Name), sandbox, owner, forkSelector, spec),
            Spec = spec,
        };
    }

    private static V1Service ForkService(Sandbox sandbox, V1Service baseline, V1OwnerReference owner, Dictionary<string, string> forkSelector)
    {
        var spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = new Dictionary<string, string>(forkSelector, StringComparer.Ordinal),
            Ports = [.. (baseline.Spec.Ports ?? []).Select(p => new V1ServicePort
            {
                Name = p.Name,
                Port = p.Port,
                TargetPort = p.TargetPort,
                Protocol = p.Protocol,
                AppProtocol = p.AppProtocol,
            })],
        };
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SandboxLabels.Sandbox] = sandbox.Metadata.Name,
            [SandboxLabels.ForkOf] = baseline.Metadata.Name,
        };
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = ForkMetadata(ForkName(baseline.Metadata.Name, sandbox.Metadata.Name), sandbox, owner, labels, spec),
            Spec = spec,
        };
    }

    /// <summary>
    /// Metadata of a fork object: <paramref name="labels"/> plus <c>app.kubernetes.io/managed-by</c>, owned by the
    /// Sandbox, and annotated with a digest of labels and <paramref name="spec"/> (what tells drift from no change).
    /// </summary>
    private static V1ObjectMeta ForkMetadata(string name, Sandbox sandbox, V1OwnerReference owner, IReadOnlyDictionary<string, string> labels, object spec)
    {
        var allLabels = new Dictionary<string, string>(labels, StringComparer.Ordinal) { ["app.kubernetes.io/managed-by"] = ManagedBy };
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KubernetesJson.Serialize(allLabels) + "\n" + KubernetesJson.Serialize(spec))))[..16];
        return new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = sandbox.Metadata.Namespace,
            Labels = allLabels,
            Annotations = new Dictionary<string, string> { [HashAnnotation] = digest },
            OwnerReferences = [owner],
        };
    }
}
