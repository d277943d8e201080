using System.Security.Cryptography;
using k8s;
using XdsControlPlane.Model;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// A Kubernetes-mode broker reads LocalWorkloads from the cluster: the agent checks what the workload names (the
/// Service, its ports, the Sandbox, the exposed Services), creates it with the developer's credentials and a fresh
/// secret's hash, proves the secret in Hello, and deletes the workload when it stops — unless another agent took it
/// over meanwhile. The cluster is connected to only when first needed.
/// </summary>
internal sealed class KubernetesRegistration(LocalConnectRequest request, Func<(IKubernetes Client, string Namespace)> cluster, IReadOnlyList<ExposedListener> exposed) : IAgentRegistration
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(10);

    private (IKubernetes Client, string Namespace)? _cluster;
    private LocalWorkloadRegistration? _workload;
    private IReadOnlyList<LocalPort>? _ports;
    private string? _registeredHash;

    /// <inheritdoc />
    public string Mode => "kubernetes";

    /// <inheritdoc />
    public string Namespace => Cluster.Namespace;

    /// <summary>The kube client and namespace (connected on first use).</summary>
    public (IKubernetes Client, string Namespace) Cluster => _cluster ??= cluster();

    private LocalWorkloadRegistration Workload => _workload ??= new LocalWorkloadRegistration(Cluster.Client, Cluster.Namespace, request.Name);

    /// <summary>Checks what the LocalWorkload will name (once; exits 1 naming what is missing).</summary>
    public async Task PreflightAsync(CancellationToken cancellationToken)
    {
        if (_ports is not null)
        {
            return;
        }

        var ports = await Workload.PreflightAsync(request.Service, request.Ports, request.Sandbox, exposed, cancellationToken).ConfigureAwait(false);
        if (request.Previews.FirstOrDefault(p => ports.Any(s => s.Port == p.Port && s.Protocol == LocalPort.Tcp)) is { } tcp)
        {
            throw new CliException(
                $"--preview {tcp.Port}: Service {Namespace}/{request.Service} port {tcp.Port} is declared tcp (its appProtocol or name), so a browser cannot open it.",
                "Preview an http or grpc port, or declare the port's appProtocol: http in the Service.",
                ExitCodes.UserError);
        }

        _ports = ports;
    }

    /// <inheritdoc />
    public async Task<Hello> RegisterAsync(CancellationToken cancellationToken)
    {
        await PreflightAsync(cancellationToken).ConfigureAwait(false);
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var hash = LocalWorkload.HashSecret(secret);
        await Workload.CreateAsync(request.Service, request.Sandbox, request.RoutingKey, _ports!, [.. request.Exposed.Select(e => e.Target)], request.Previews, hash, request.Force, cancellationToken).ConfigureAwait(false);
        _registeredHash = hash;
        var hello = AgentHello.For(request, Namespace, secret);

        // The LocalWorkload carries the rest; the broker reads the Services the agent may reach from here.
        hello.Spec = new XdsControlPlane.Tunnel.Protocol.LocalWorkloadSpec { Expose = { request.Exposed.Select(e => e.Target) } };
        return hello;
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(AgentReporter reporter)
    {
        if (_registeredHash is null || _workload is null)
        {
            return;
        }

        using var cleanup = new CancellationTokenSource(CleanupTimeout);
        try
        {
            if (!await _workload.DeleteAsync(cleanup.Token, onlyWithHash: _registeredHash).ConfigureAwait(false))
            {
                reporter.Warning($"LocalWorkload {_workload.Namespace}/{_workload.Name} was taken over by another agent (--force); left it in place");
            }
        }
        catch (Exception e) when (e is CliException or OperationCanceledException)
        {
            reporter.Warning($"could not delete LocalWorkload {_workload.Namespace}/{_workload.Name}: {e.Message} (sandboxctl local disconnect {_workload.Name} --force retries)");
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
