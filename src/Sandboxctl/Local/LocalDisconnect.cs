using System.Diagnostics;
using System.Runtime.InteropServices;
using k8s;
using XdsControlPlane.Kubernetes;

namespace Sandboxctl.Local;

/// <summary>
/// <c>sandboxctl local disconnect [NAME] [--force]</c>: asks an agent of this machine to stop (SIGTERM to its pid) and
/// waits until it has cleaned up (said Goodbye, deleted its LocalWorkload, removed its state file). The pid counts
/// only while its process started when the agent did (the state file records it): a pid the system handed to another
/// process since is never signalled or killed. With
/// <c>--force</c>, an agent that is gone or does not stop in time is killed and its LocalWorkload deleted and state
/// removed here.
/// </summary>
internal sealed partial class LocalDisconnect(CliOutput cli, AgentStateStore store)
{
    private const int SigTerm = 15;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public async Task<int> RunAsync(string? name, bool force, CancellationToken cancellationToken)
    {
        var states = store.ReadAll();
        var chosen = name is null ? states : [.. states.Where(s => s.Name == name || $"{s.Namespace}/{s.Name}" == name)];
        if (chosen.Count == 0)
        {
            if (name is null)
            {
                cli.WriteText("No local-connect agent runs on this machine.\n");
                return ExitCodes.Ok;
            }

            throw new CliException($"no local-connect agent for {name} on this machine.", "List them with: sandboxctl local status", ExitCodes.UserError);
        }

        if (name is null && chosen.Count > 1)
        {
            throw new CliException(
                $"{chosen.Count} agents run on this machine: {string.Join(", ", chosen.Select(s => $"{s.Namespace}/{s.Name}"))}.",
                "Name the one to stop: sandboxctl local disconnect NAME",
                ExitCodes.UserError);
        }

        foreach (var state in chosen)
        {
            await StopAsync(state, force, cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    /// <summary>A client for the cluster an agent used.</summary>
    public static IKubernetes ClientFor(ClusterIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        try
        {
            return new Kubernetes(KubeconfigLoader.Load(identity.Kubeconfig, identity.Context, allowInCluster: false));
        }
        catch (k8s.Exceptions.KubeConfigException e)
        {
            throw new CliException($"cannot use the kubeconfig the agent used: {e.Message}", "Delete the LocalWorkload with kubectl delete localworkload NAME.", ExitCodes.UserError);
        }
    }

    private async Task StopAsync(AgentState state, bool force, CancellationToken cancellationToken)
    {
        var workload = $"{state.Namespace}/{state.Name}";
        if (AgentStateStore.IsRunning(state))
        {
            if (Kill(state.Pid, SigTerm) != 0)
            {
                throw new CliException($"cannot signal the agent for {workload} (pid {state.Pid}).", "Is it another user's? Stop it from that account.", ExitCodes.UserError);
            }

            var clock = Stopwatch.StartNew();
            while (AgentStateStore.IsRunning(state) && clock.Elapsed < StopTimeout)
            {
                await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
            }

            if (!AgentStateStore.IsRunning(state))
            {
                cli.WriteText($"disconnected {workload} (pid {state.Pid} stopped and cleaned up).\n");
                return;
            }

            if (!force)
            {
                throw new CliException($"the agent for {workload} (pid {state.Pid}) did not stop within {StopTimeout.TotalSeconds:0} s.", $"Kill it and clean up: sandboxctl local disconnect {state.Name} --force", ExitCodes.ConnectionError);
            }

            using var process = Process.GetProcessById(state.Pid);
            process.Kill();
        }
        else if (!force)
        {
            var reused = AgentStateStore.ProcessStartOf(state.Pid) is not null ? $"; pid {state.Pid} belongs to another process now, left alone" : "";
            throw new CliException(
                $"the agent for {workload} (pid {state.Pid}) is gone{reused}; its state is stale{(state.Mode == "kubernetes" ? " and its LocalWorkload may still exist" : "")}.",
                $"Clean up with: sandboxctl local disconnect {state.Name} --force",
                ExitCodes.UserError);
        }

        if (state.Mode == "kubernetes")
        {
            await new LocalWorkloadRegistration(ClientFor(new ClusterIdentity(state.Kubeconfig, state.Context)), state.Namespace, state.Name).DeleteAsync(cancellationToken).ConfigureAwait(false);
            cli.WriteText($"deleted LocalWorkload {workload}.\n");
        }

        store.Delete(state.Namespace, state.Name);
        cli.WriteText($"removed the state of {workload}.\n");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
