using System.Text;
using System.Text.RegularExpressions;
using XdsControlPlane.Model;

namespace Sandboxctl.Local;

/// <summary>What <c>sandboxctl local connect</c> was asked to do, checked: every problem with the flags is one error naming the flag.</summary>
internal sealed partial record LocalConnectRequest
{
    /// <summary>The default tunnel broker port of the control plane.</summary>
    public const int DefaultBrokerPort = 18001;

    /// <summary>The Sandbox whose routing key the workload joins, or null with <see cref="RoutingKey"/>.</summary>
    public string? Sandbox { get; init; }

    /// <summary>The routing key, or null with <see cref="Sandbox"/>.</summary>
    public string? RoutingKey { get; init; }

    /// <summary>The Service the laptop stands in for.</summary>
    public required string Service { get; init; }

    /// <summary>The <c>--port</c>s.</summary>
    public required IReadOnlyList<ServedPort> Ports { get; init; }

    /// <summary>The <c>--expose</c>s.</summary>
    public IReadOnlyList<ExposedService> Exposed { get; init; } = [];

    /// <summary>The <c>--preview</c>s: preview URLs of Service ports the laptop serves.</summary>
    public IReadOnlyList<RequestedPreview> Previews { get; init; } = [];

    /// <summary>The broker's direct address (<c>--server HOST:PORT</c>), or null to port-forward through the API server.</summary>
    public string? Server { get; init; }

    /// <summary>A manifests-mode broker's token.</summary>
    public string? Token { get; init; }

    /// <summary>TLS to the broker (<c>--ca-file</c>, <c>--cert-file</c>, <c>--key-file</c>), or null for plaintext.</summary>
    public BrokerTls? Tls { get; init; }

    /// <summary>The LocalWorkload's name.</summary>
    public required string Name { get; init; }

    /// <summary>Take over a LocalWorkload that exists.</summary>
    public bool Force { get; init; }

    /// <summary>Where to write the environment of a baseline pod of the Service (<c>--env-file</c>), or null.</summary>
    public string? EnvFile { get; init; }

    /// <summary>The container whose environment <see cref="EnvFile"/> gets (<c>--container</c>); null for the pod's first.</summary>
    public string? Container { get; init; }

    /// <summary>The first wait before a reconnect (<c>--reconnect-delay</c>); it doubles up to 10 s.</summary>
    public TimeSpan ReconnectDelay { get; init; } = RetryBackoff.ReconnectFirst;

    /// <summary>Where the control-plane pods run (for the port-forward).</summary>
    public string ControlPlaneNamespace { get; init; } = "sandboxctl-system";

    /// <summary>This request with the <c>--preview</c>s <paramref name="previews"/>, checked against its <c>--port</c>s (exits 1 naming the flag).</summary>
    public LocalConnectRequest WithPreviews(string[] previews)
    {
        ArgumentNullException.ThrowIfNull(previews);
        if (previews.Length > ModelLimits.MaxPreviews)
        {
            throw new CliException($"at most {ModelLimits.MaxPreviews} --preview, got {previews.Length}.", "Preview the ports you open in a browser.", ExitCodes.UserError);
        }

        var parsed = previews.Select(RequestedPreview.Parse).ToList();
        if (parsed.FirstOrDefault(p => Ports.All(s => s.RemotePort != p.Port)) is { } unserved)
        {
            throw new CliException(
                $"--preview {unserved.Port}: port {unserved.Port} is not one this machine serves (--port REMOTE ports: {string.Join(", ", Ports.Select(p => p.RemotePort))}).",
                "PORT of --preview is a Service port given to --port LOCAL:REMOTE.",
                ExitCodes.UserError);
        }

        if (parsed.GroupBy(p => p.Port).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new CliException($"--preview {twice.Key} is given twice.", "Give each port once, with one access level.", ExitCodes.UserError);
        }

        return this with { Previews = parsed };
    }

    /// <summary>The request from the flags' values; throws a <see cref="CliException"/> (exit 1) naming the first bad flag.</summary>
    public static LocalConnectRequest From(string? sandbox, string? routingKey, string? service, string[] ports, string[] exposed, string? server, string? token, string? name, bool force, string controlPlaneNamespace)
    {
        if ((sandbox is null) == (routingKey is null))
        {
            throw new CliException("give exactly one of --sandbox and --routing-key.", "--sandbox NAME joins a Sandbox's routing key; --routing-key KEY names a key directly.", ExitCodes.UserError);
        }

        if (sandbox is not null && !SchemaPatterns.IsDnsLabel(sandbox))
        {
            throw new CliException($"--sandbox '{sandbox}' is not a Sandbox name (a DNS label).", "Use the name sandboxctl sandbox list shows.", ExitCodes.UserError);
        }

        if (routingKey is not null && !SchemaPatterns.IsRoutingKey(routingKey))
        {
            throw new CliException($"--routing-key '{routingKey}' is not a routing key.", "A routing key is 1-63 of [a-z0-9-].", ExitCodes.UserError);
        }

        if (service is null || !SchemaPatterns.IsDnsLabel(service))
        {
            throw new CliException(service is null ? "--service is required." : $"--service '{service}' is not a Service name.", "Name the Service your laptop stands in for: --service cart.", ExitCodes.UserError);
        }

        if (ports.Length == 0)
        {
            throw new CliException("give at least one --port LOCAL[:REMOTE].", "--port 8080 serves Service port 8080 from localhost:8080.", ExitCodes.UserError);
        }

        var served = ports.Select(ServedPort.Parse).ToList();
        if (served.GroupBy(p => p.RemotePort).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new CliException($"Service port {twice.Key} is given twice (--port).", "Give each Service port once.", ExitCodes.UserError);
        }

        var exposes = exposed.Select(ExposedService.Parse).ToList();
        if (exposes.GroupBy(e => e.LocalPort).FirstOrDefault(g => g.Count() > 1) is { } shared)
        {
            throw new CliException($"local port {shared.Key} is given to two --expose.", "Give each exposed Service a local port of its own.", ExitCodes.UserError);
        }

        if (server is not null && !IsHostPort(server))
        {
            throw new CliException($"--server '{server}' is not HOST:PORT.", $"Write --server 127.0.0.1:{DefaultBrokerPort} (the control plane's tunnel port).", ExitCodes.UserError);
        }

        if (name is not null && !SchemaPatterns.IsDnsLabel(name))
        {
            throw new CliException($"--name '{name}' is not a DNS label.", "1-63 of [a-z0-9-], starting and ending with a letter or digit.", ExitCodes.UserError);
        }

        return new LocalConnectRequest
        {
            Sandbox = sandbox,
            RoutingKey = routingKey,
            Service = service,
            Ports = served,
            Exposed = exposes,
            Server = server,
            Token = token,
            Name = name ?? DefaultName(service, Environment.UserName),
            Force = force,
            ControlPlaneNamespace = controlPlaneNamespace,
        };
    }

    /// <summary><c>SERVICE-USER</c> made a DNS label (lowercase, other characters become '-', at most 63).</summary>
    internal static string DefaultName(string service, string user)
    {
        var text = new StringBuilder();
        foreach (var c in $"{service}-{user}".ToLowerInvariant())
        {
            text.Append(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) ? c : '-');
        }

        var label = Dashes().Replace(text.ToString(), "-").Trim('-');
        return label.Length <= 63 ? label : label[..63].TrimEnd('-');
    }

    private static bool IsHostPort(string text)
    {
        var colon = text.LastIndexOf(':');
        return colon > 0 && PortNumber.TryParse(text[(colon + 1)..]) is not null && !text[..colon].Contains('/', StringComparison.Ordinal);
    }

    [GeneratedRegex("-{2,}")]
    private static partial Regex Dashes();
}
