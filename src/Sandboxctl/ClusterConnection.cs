using System.CommandLine;
using k8s;
using k8s.Exceptions;
using XdsControlPlane.Kubernetes;

namespace Sandboxctl;

/// <summary>The kubeconfig options (<c>--kubeconfig</c>, <c>--context</c>, <c>-n</c>) and the client they give.</summary>
internal sealed class ClusterConnection
{
    public Option<FileInfo?> Kubeconfig { get; } = new("--kubeconfig") { Description = "The kubeconfig file (default: the files in KUBECONFIG, merged as kubectl does, else ~/.kube/config).", Recursive = true };

    public Option<string?> Context { get; } = new("--context") { Description = "The kubeconfig context (default: the current one).", Recursive = true };

    public Option<string?> Namespace { get; } = new("--namespace", "-n") { Description = "The namespace (default: the context's, else default).", Recursive = true };

    /// <summary>A client for the selected context and the namespace to use.</summary>
    public (IKubernetes Client, string Namespace) Connect(ParseResult parse)
    {
        KubernetesClientConfiguration configuration;
        try
        {
            configuration = KubeconfigLoader.Load(parse.GetValue(Kubeconfig)?.FullName, parse.GetValue(Context), allowInCluster: false);
        }
        catch (KubeConfigException e)
        {
            throw new CliException($"cannot use the kubeconfig: {e.Message}", "Check --kubeconfig and --context, or the KUBECONFIG variable.", ExitCodes.UserError);
        }

        return (new Kubernetes(configuration), parse.GetValue(Namespace) ?? configuration.Namespace ?? "default");
    }
}
