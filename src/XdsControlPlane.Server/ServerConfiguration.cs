using XdsControlPlane.Tunnel;

namespace XdsControlPlane.Server;

/// <summary>
/// Where the server's settings come from, lowest precedence first: a JSON file (<c>--config</c>), the environment
/// (<c>XDSCP_</c> plus the key with <c>__</c> between section and name, e.g. <c>XDSCP_XDS__PORT</c>, and the variables of
/// <see cref="NamedVariables"/>), then the command line. Each area binds its typed options class from its section
/// (<see cref="ServerHost.Create"/>); defaults live in those classes.
/// </summary>
public static class ServerConfiguration
{
    /// <summary>The prefix of environment variables that set any key.</summary>
    public const string EnvironmentPrefix = "XDSCP_";

    /// <summary>Environment variables with names of their own (the downward API's, the tokens') and the key each sets.</summary>
    public static IReadOnlyDictionary<string, string> NamedVariables { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [DebugTokenVariable] = $"{AdminEndpointOptions.Section}:{nameof(AdminEndpointOptions.DebugToken)}",
        [TunnelTokenVariable] = $"{TunnelListenerOptions.Section}:{nameof(TunnelListenerOptions.Token)}",
        ["POD_IP"] = $"{TunnelListenerOptions.Section}:{nameof(TunnelBrokerOptions.AdvertiseAddress)}",
        ["POD_NAME"] = $"{HostingOptions.Section}:{nameof(HostingOptions.Replica)}",
        ["POD_NAMESPACE"] = $"{KubernetesSourcesOptions.Section}:{nameof(KubernetesSourcesOptions.LeaseNamespace)}",
    };

    /// <summary>The environment variable the debug token is read from (it keeps the token out of the process list).</summary>
    public static string DebugTokenVariable => "XDSCP_DEBUG_TOKEN";

    /// <summary>The environment variable the tunnel token is read from.</summary>
    public static string TunnelTokenVariable => "XDSCP_TUNNEL_TOKEN";

    /// <summary>
    /// The configuration of <paramref name="file"/> (JSON; none when null), the environment, then
    /// <paramref name="commandLine"/> (keys and values of the flags that were given).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON.</exception>
    public static IConfigurationRoot Build(string? file, IEnumerable<KeyValuePair<string, string?>> commandLine)
    {
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }

        return builder
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddInMemoryCollection(NamedVariables
                .Select(variable => KeyValuePair.Create(variable.Value, Environment.GetEnvironmentVariable(variable.Key)))
                .Where(setting => !string.IsNullOrEmpty(setting.Value)))
            .AddInMemoryCollection(commandLine)
            .Build();
    }

    /// <summary>The configuration section of the manifest directory source (<c>Directory</c>, <c>PollInterval</c>; the debounce is the source pipeline's, section <c>Sources</c>).</summary>
    public const string ManifestsSection = "Manifests";

    /// <summary>The shortest bearer token accepted (debug and tunnel tokens).</summary>
    public static int MinTokenLength => 16;

    /// <summary>The configuration key of <paramref name="name"/> in <paramref name="section"/>.</summary>
    internal static string Key(string section, string name) => $"{section}:{name}";
}
