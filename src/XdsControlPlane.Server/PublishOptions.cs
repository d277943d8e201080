using XdsControlPlane.Translation;

namespace XdsControlPlane.Server;

/// <summary>How snapshots are made and published (<see cref="ServerServiceCollectionExtensions.AddSnapshotPublishing"/>); the translation's settings are configuration section <c>Translation</c>.</summary>
public sealed class PublishOptions
{
    /// <summary>The configuration section <see cref="Translation"/> is bound from.</summary>
    public const string TranslationSection = "Translation";

    /// <summary>How resources are translated.</summary>
    public TranslationOptions Translation { get; set; } = new();

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate() => Translation.Validate();
}
