using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Parses one kubeconfig file into the client's <see cref="K8SConfiguration"/> with the settings of the client's own
/// lenient YAML reader (camel case, the models' <c>YamlMember</c> aliases, unknown keys ignored, anchors merged), but
/// not through <c>k8s.KubernetesYaml</c>: its static constructor reflects over every Kubernetes model type (about 900)
/// to build three serializers, which keeps their metadata, code and YAML overrides in memory for the life of a process
/// that only wanted its kubeconfig (docs/control-loop-benchmark.md, "Memory, fourth part: the fixed part").
/// </summary>
internal static class KubeconfigYaml
{
    /// <summary>The configuration in <paramref name="file"/>; an empty file is an error.</summary>
    /// <exception cref="YamlException">The file is not YAML of the kubeconfig's shape.</exception>
    /// <exception cref="InvalidDataException">The file holds no document.</exception>
    public static K8SConfiguration Read(string file)
    {
        // A deserializer per file: a process reads its kubeconfig once, and YamlDotNet's deserializer keeps caches that
        // are not documented as safe for concurrent use.
        var deserializer = new DeserializerBuilder()
            .WithNamingConvention(CamelCaseNamingConvention.Instance)
            .WithAttemptingUnquotedStringTypeDeserialization()
            .IgnoreUnmatchedProperties()
            .Build();
        using var reader = File.OpenText(file);
        return deserializer.Deserialize<K8SConfiguration?>(new MergingParser(new Parser(reader)))
            ?? throw new InvalidDataException("the file holds no kubeconfig document");
    }
}
