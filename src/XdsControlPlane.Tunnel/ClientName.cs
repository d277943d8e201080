using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Text an agent sent (its version, a name) as a log argument: printable and cut short
/// (<see cref="HelloValidator.Quoted"/>) when the event is rendered, so nothing is computed for disabled levels.
/// </summary>
/// <param name="Text">The text as the agent sent it.</param>
internal readonly record struct ClientName(string? Text)
{
    /// <inheritdoc />
    public override string ToString() => HelloValidator.Quoted(Text);
}

/// <summary>The workload a Hello names as a log argument (<see cref="HelloValidator.WorkloadOf"/> when the event is rendered).</summary>
/// <param name="Hello">The agent's Hello.</param>
internal readonly record struct HelloWorkload(Hello Hello)
{
    /// <inheritdoc />
    public override string ToString() => HelloValidator.WorkloadOf(Hello);
}
