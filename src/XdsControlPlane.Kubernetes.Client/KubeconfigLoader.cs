using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Finds and loads the Kubernetes client configuration the way kubectl does: an explicit <c>--kubeconfig</c> file
/// wins; else the files listed in <c>KUBECONFIG</c> (separated by the platform's path separator, empty entries and
/// missing files skipped) are merged, the first file that sets a value winning — a cluster, user or context name, and
/// <c>current-context</c>; else, where allowed, the pod's service account; else <c>~/.kube/config</c>. Relative
/// certificate paths (certificate-authority, client-certificate, client-key) are resolved against the file that names
/// them. Every error names the file.
/// </summary>
public static class KubeconfigLoader
{
    /// <summary>The environment variable that lists kubeconfig files.</summary>
    public const string EnvironmentVariable = "KUBECONFIG";

    /// <summary>
    /// The kubeconfig files to merge, in precedence order: <paramref name="explicitPath"/> alone when given, else the
    /// existing files of <paramref name="kubeconfigVariable"/> (each once), else the default <c>~/.kube/config</c>.
    /// </summary>
    /// <exception cref="KubeConfigException">The explicit file does not exist, or <c>KUBECONFIG</c> names only missing files.</exception>
    public static IReadOnlyList<string> Files(string? explicitPath, string? kubeconfigVariable)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath) ? [Path.GetFullPath(explicitPath)] : throw new KubeConfigException($"kubeconfig file {explicitPath} does not exist");
        }

        if (!string.IsNullOrEmpty(kubeconfigVariable))
        {
            var listed = kubeconfigVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
            var existing = listed.Where(File.Exists).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToArray();
            return existing.Length > 0
                ? existing
                : throw new KubeConfigException($"none of the files in {EnvironmentVariable} exists: {string.Join(", ", listed)}");
        }

        return [KubernetesClientConfiguration.KubeConfigDefaultLocation];
    }

    /// <summary>
    /// The client configuration for <paramref name="explicitPath"/> or <c>KUBECONFIG</c> (read from
    /// <paramref name="kubeconfigVariable"/>, the process environment when null) and <paramref name="context"/> (the
    /// current context when null). With <paramref name="allowInCluster"/>, a process in a pod that names neither a
    /// file nor a context uses its service account.
    /// </summary>
    /// <exception cref="KubeConfigException">No usable configuration; the message names the file and the reason.</exception>
    public static KubernetesClientConfiguration Load(string? explicitPath, string? context, bool allowInCluster, string? kubeconfigVariable = null)
    {
        kubeconfigVariable ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (allowInCluster && string.IsNullOrEmpty(explicitPath) && string.IsNullOrEmpty(kubeconfigVariable) && context is null && KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var files = Files(explicitPath, kubeconfigVariable);
        if (files.Count == 1 && !File.Exists(files[0]))
        {
            throw new KubeConfigException($"kubeconfig file {files[0]} does not exist (set {EnvironmentVariable} or --kubeconfig)");
        }

        var merged = Merge(files.Select(Read));
        if (context is null && string.IsNullOrEmpty(merged.CurrentContext))
        {
            throw new KubeConfigException($"no current-context is set in {string.Join(", ", files)}; pass --context");
        }

        if (context is not null && merged.Contexts?.Any(c => c.Name == context) != true)
        {
            throw new KubeConfigException($"context '{context}' is not defined in {string.Join(", ", files)}");
        }

        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(merged, context);
        }
        catch (Exception e) when (e is not KubeConfigException and (ArgumentException or FormatException or IOException or UnauthorizedAccessException or InvalidOperationException or System.Security.Cryptography.CryptographicException))
        {
            throw new KubeConfigException($"{string.Join(", ", files)}: {e.Message}", e);
        }
    }

    /// <summary>One file, parsed, with its relative paths made absolute against its own directory.</summary>
    private static K8SConfiguration Read(string file)
    {
        K8SConfiguration config;
        try
        {
            config = KubeconfigYaml.Read(file);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // YamlDotNet's and the client's own messages do not name the file; ours do.
            throw new KubeConfigException($"kubeconfig file {file} cannot be read: {e.Message}", e);
        }

        var directory = Path.GetDirectoryName(file) ?? "";
        string? Absolute(string? path) => string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(directory, path));
        foreach (var cluster in config.Clusters ?? [])
        {
            if (cluster.ClusterEndpoint is { } endpoint)
            {
                endpoint.CertificateAuthority = Absolute(endpoint.CertificateAuthority);
            }
        }

        foreach (var user in config.Users ?? [])
        {
            if (user.UserCredentials is { } credentials)
            {
                credentials.ClientCertificate = Absolute(credentials.ClientCertificate);
                credentials.ClientKey = Absolute(credentials.ClientKey);
            }
        }

        config.FileName = file;
        return config;
    }

    /// <summary>kubectl's merge: the first file to define a named cluster, user or context, or the current context, wins.</summary>
    private static K8SConfiguration Merge(IEnumerable<K8SConfiguration> configs)
    {
        K8SConfiguration? merged = null;
        var clusters = new List<Cluster>();
        var users = new List<User>();
        var contexts = new List<Context>();
        foreach (var config in configs)
        {
            merged ??= new K8SConfiguration { ApiVersion = config.ApiVersion, Kind = config.Kind, FileName = config.FileName, Preferences = config.Preferences };
            if (string.IsNullOrEmpty(merged.CurrentContext) && !string.IsNullOrEmpty(config.CurrentContext))
            {
                merged.CurrentContext = config.CurrentContext;
            }

            AddNew(clusters, config.Clusters, c => c.Name);
            AddNew(users, config.Users, u => u.Name);
            AddNew(contexts, config.Contexts, c => c.Name);
        }

        merged ??= new K8SConfiguration();
        merged.Clusters = clusters;
        merged.Users = users;
        merged.Contexts = contexts;
        return merged;
    }

    private static void AddNew<T>(List<T> into, IEnumerable<T>? from, Func<T, string?> name)
    {
        foreach (var item in from ?? [])
        {
            if (!into.Any(existing => name(existing) == name(item)))
            {
                into.Add(item);
            }
        }
    }
}
