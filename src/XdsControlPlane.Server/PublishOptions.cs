using XdsControlPlane.Translation;

namespace XdsControlPlane.Server;

/// <summary>How snapshots are made and published (<see cref="ServerServiceCollectionExtensions.AddSnapshotPublishing"/>).</summary>
public sealed class PublishOptions
{
    /// <summary>How resources are translated.</summary>
    public TranslationOptions Translation { get; set; } = new();

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate() => Translation.Validate();
}
