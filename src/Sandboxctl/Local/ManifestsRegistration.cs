using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// A manifests-mode broker keeps LocalWorkloads in memory: the Hello carries the workload's spec and the broker's
/// token (required unless the broker says it needs none) and, with <c>--force</c>, asks to take the workload over from
/// another agent's live stream; nothing is left to clean up.
/// </summary>
internal sealed class ManifestsRegistration(LocalConnectRequest request, string? manifestsNamespace, string broker, bool tokenRequired) : IAgentRegistration
{
    /// <inheritdoc />
    public string Mode => "manifests";

    /// <inheritdoc />
    public string Namespace { get; } = manifestsNamespace ?? "default";

    /// <inheritdoc />
    public Task<Hello> RegisterAsync(CancellationToken cancellationToken)
    {
        if (tokenRequired && request.Token is null)
        {
            throw new CliException($"the tunnel broker at {broker} needs a token.", "Pass the token the control plane was started with: --token TOKEN.", ExitCodes.UserError);
        }

        var hello = AgentHello.For(request, Namespace, request.Token ?? "");
        hello.TakeOver = request.Force;
        hello.Spec = new LocalWorkloadSpec
        {
            Sandbox = request.Sandbox ?? "",
            RoutingKey = request.RoutingKey ?? "",
            Service = request.Service,
            Ports = { request.Ports.Select(p => (uint)p.RemotePort) },
            Expose = { request.Exposed.Select(e => e.Target) },
            Previews = { request.Previews.Select(p => new WorkloadPreview { Port = (uint)p.Port, Access = p.Access }) },
        };
        return Task.FromResult(hello);
    }

    /// <inheritdoc />
    public Task ReleaseAsync(AgentReporter reporter) => Task.CompletedTask;
}
