namespace XdsControlPlane.Sources;

/// <summary>How the <see cref="SourcePipeline"/> batches changes. One rule for every source: after a change, wait until none has come for <see cref="Debounce"/>, but never longer than <see cref="MaxDebounce"/> in all.</summary>
public sealed class SourcePipelineOptions
{
    /// <summary>The configuration section these settings are bound from (<c>Sources:Debounce</c>, <c>Sources:MaxDebounce</c>).</summary>
    public const string Section = "Sources";

    /// <summary>Quiet time after a change before a pass (editors write a file in several steps; a rollout changes many EndpointSlices at once).</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest a continuous burst of changes delays a pass.</summary>
    public TimeSpan MaxDebounce { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Debounce <= TimeSpan.Zero || MaxDebounce < Debounce)
        {
            yield return $"Debounce must be positive and at most MaxDebounce, got {Debounce} and {MaxDebounce}.";
        }
    }
}
