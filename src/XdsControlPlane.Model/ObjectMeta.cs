using System.Text.Json.Serialization;

namespace XdsControlPlane.Model;

/// <summary>The part of Kubernetes <c>metadata</c> the control plane reads. Other metadata fields are ignored.</summary>
public sealed record ObjectMeta
{
    /// <summary>The namespace assumed when a manifest does not name one.</summary>
    public const string DefaultNamespace = "default";

    /// <summary>The object's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The object's namespace (<see cref="DefaultNamespace"/> when absent).</summary>
    public string Namespace { get; init; } = DefaultNamespace;

    /// <summary>Labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = Empty;

    /// <summary>Annotations.</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = Empty;

    /// <summary>The spec generation (set by the API server; 0 in files).</summary>
    public long Generation { get; init; }

    /// <summary>The API server's resource version, when read from a cluster.</summary>
    public string? ResourceVersion { get; init; }

    [JsonIgnore]
    private static IReadOnlyDictionary<string, string> Empty { get; } = new Dictionary<string, string>();
}

/// <summary>Identifies one object: kind, namespace and name. Printed as <c>Kind namespace/name</c>.</summary>
/// <param name="Kind">The object's kind, e.g. <c>RouteGroup</c>.</param>
/// <param name="Namespace">The object's namespace.</param>
/// <param name="Name">The object's name.</param>
public sealed record ResourceKey(string Kind, string Namespace, string Name)
{
    /// <summary>Orders keys by kind, namespace and name (ordinal): the order translation and reports use.</summary>
    public static IComparer<ResourceKey> Order { get; } = Comparer<ResourceKey>.Create((a, b) =>
    {
        var byKind = string.CompareOrdinal(a.Kind, b.Kind);
        if (byKind != 0)
        {
            return byKind;
        }

        var byNamespace = string.CompareOrdinal(a.Namespace, b.Namespace);
        return byNamespace != 0 ? byNamespace : string.CompareOrdinal(a.Name, b.Name);
    });

    /// <inheritdoc />
    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}

/// <summary>Any object read from a manifest or the API server.</summary>
public interface IManifestObject
{
    /// <summary>The object's metadata.</summary>
    ObjectMeta Metadata { get; }

    /// <summary>The object's identity.</summary>
    ResourceKey Key { get; }
}
