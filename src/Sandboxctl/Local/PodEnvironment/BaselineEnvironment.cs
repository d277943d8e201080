using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sandboxctl.PortForward;

namespace Sandboxctl.Local.PodEnvironment;

/// <summary>The environment written for <c>--env-file</c>: where it came from, and what it holds.</summary>
internal sealed record BaselineEnvironmentFile(string Path, string Pod, string Container, ResolvedEnvironment Environment);

/// <summary>
/// <c>local connect --env-file PATH</c>: the environment of a baseline pod of the Service — a ready pod its selector
/// picks (the oldest, then by name), the container <c>--container</c> names or the first — resolved with the user's
/// credentials (<see cref="ContainerEnvironment"/>) and written as a dotenv file of mode 0600
/// (<see cref="DotenvFile"/>), what was left out named in comments at its top. The values go to the file only.
/// </summary>
internal sealed class BaselineEnvironment(IKubernetes client, string ns)
{
    /// <summary>Resolves the environment of a ready pod of <paramref name="service"/> and writes it to <paramref name="path"/>.</summary>
    public async Task<BaselineEnvironmentFile> WriteAsync(string path, string service, string? container, CancellationToken cancellationToken)
    {
        var pod = await ReadyPodAsync(service, cancellationToken).ConfigureAwait(false);
        var containers = pod.Spec?.Containers ?? [];
        var chosen = (container is null ? containers.FirstOrDefault() : containers.FirstOrDefault(c => c.Name == container))
            ?? throw new CliException(
                $"pod {ns}/{pod.Metadata.Name} has no container {container} (--container).",
                $"Its containers: {string.Join(", ", containers.Select(c => c.Name))}.",
                ExitCodes.UserError);
        var environment = await new ContainerEnvironment(new EnvSourceReader(client, ns)).ResolveAsync(pod, chosen, cancellationToken).ConfigureAwait(false);
        string[] comments =
        [
            $"The environment of container {chosen.Name} of pod {ns}/{pod.Metadata.Name} (Service {service}), written by sandboxctl local connect.",
            .. environment.Withheld.Select(w => $"left out: {w}"),
        ];
        try
        {
            DotenvFile.Write(path, DotenvFile.Format(environment.Variables, comments));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot write --env-file {path}: {e.Message}", "Name a file in a directory you can write.", ExitCodes.UserError);
        }

        return new BaselineEnvironmentFile(Path.GetFullPath(path), pod.Metadata.Name, chosen.Name, environment);
    }

    /// <summary>A ready pod the Service's selector picks (the oldest, then by name).</summary>
    private async Task<V1Pod> ReadyPodAsync(string service, CancellationToken cancellationToken)
    {
        var found = await CallAsync(() => client.CoreV1.ReadNamespacedServiceAsync(service, ns, cancellationToken: cancellationToken), "get", "services").ConfigureAwait(false);
        var selector = LabelSelectorQuery.Of(found.Spec?.Selector, null)
            ?? throw new CliException($"Service {ns}/{service} has no selector, so it has no pod to take the environment from (--env-file).", "Leave out --env-file, or write the environment by hand.", ExitCodes.UserError);
        var pods = await CallAsync(() => client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: cancellationToken), "list", "pods").ConfigureAwait(false);
        return pods.Items.Where(PortForwardTargetResolver.IsReady).OrderBy(p => p.Metadata.CreationTimestamp).ThenBy(p => p.Metadata.Name, StringComparer.Ordinal).FirstOrDefault()
            ?? throw new CliException(
                $"Service {ns}/{service} has no ready pod to take the environment from (--env-file).",
                $"Check its pods: kubectl get pods -n {ns} -l {selector}",
                ExitCodes.UserError);
    }

    private async Task<T> CallAsync<T>(Func<Task<T>> call, string verb, string resource)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new CliException($"the cluster does not allow you to {verb} {resource} in namespace {ns} (403 Forbidden; --env-file).", $"Check with: kubectl auth can-i {verb} {resource} -n {ns}", ExitCodes.UserError);
        }
        catch (HttpOperationException e)
        {
            throw new CliException($"{verb} {resource} in {ns}: the cluster answered {(int)e.Response.StatusCode} {e.Response.StatusCode} (--env-file).", "Try again, or leave out --env-file.", ExitCodes.ConnectionError);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError);
        }
    }
}
