using XdsControlPlane.Model;

namespace XdsControlPlane.Sources;

/// <summary>
/// One change a source saw: the objects now read from one origin — a manifest file, one object of the cluster, one
/// laptop's LocalWorkload — or the origin gone. An origin is the unit the last-good rules keep or drop: a broken new
/// version of an origin keeps the last good version of each object it defined.
/// </summary>
/// <param name="Origin">Where the objects come from: a file path, or a name the source makes (<c>routegroups/shop/cart</c>); unique across sources, and the order of origins decides which duplicate definition wins.</param>
/// <param name="Contents">What was read there; null when the origin is gone.</param>
public sealed record SourceChange(string Origin, ManifestReadResult? Contents)
{
    /// <summary>The origin <paramref name="origin"/> is gone: every object it defined goes too.</summary>
    public static SourceChange Removed(string origin) => new(origin, null);

    /// <summary>The origin <paramref name="origin"/> now holds just <paramref name="obj"/>.</summary>
    public static SourceChange Of(string origin, ManifestObject obj) => new(origin, new ManifestReadResult([obj], [], []));
}
