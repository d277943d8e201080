using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using XdsControlPlane.Server;

namespace XdsControlPlane.Testing;

/// <summary>
/// Builds the server host in process with test defaults: every listener on a free loopback port (the admission webhook off: its port 0 means off), the tunnel broker's
/// per-workload listeners on free ports. Settings are the configuration keys the product reads (docs/server.md), so a
/// test sets what a user would: <c>.With("Admin:DebugToken", token)</c>.
/// </summary>
internal sealed class InProcessServer
{
    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Xds:Port"] = "0",
        ["Admin:Port"] = "0",
        ["Tunnel:Port"] = "0",
        ["Tunnel:ListenPortCount"] = "0",
        ["Webhook:Port"] = "0",
        ["Server:Loopback"] = "true",
    };

    private readonly List<Action<IServiceCollection>> _services = [];

    /// <summary>Sets the configuration key <paramref name="key"/> (<c>Section:Name</c>) to <paramref name="value"/>, written invariantly (a <see cref="TimeSpan"/> as <c>c</c>).</summary>
    public InProcessServer With(string key, object? value)
    {
        _settings[key] = value is IFormattable formattable ? formattable.ToString(null, CultureInfo.InvariantCulture) : value?.ToString();
        return this;
    }

    /// <summary>Serves the manifests below <paramref name="directory"/> (<c>--manifests</c>); none when null.</summary>
    public InProcessServer WithManifests(string? directory) => With("Manifests:Directory", directory);

    /// <summary>
    /// TLS on the listener of configuration section <paramref name="section"/> (<c>Xds</c>, <c>Tunnel</c>) from the files
    /// <c>tls.crt</c>, <c>tls.key</c> and, as the client CA, <c>ca.crt</c> in <paramref name="directory"/>, with client
    /// certificates <paramref name="clientCertificates"/> (<c>Off</c>, <c>Optional</c>, <c>Required</c>).
    /// </summary>
    public InProcessServer WithListenerTls(string section, string directory, string clientCertificates) =>
        With($"{section}:Tls:CertFile", Path.Combine(directory, "tls.crt"))
            .With($"{section}:Tls:KeyFile", Path.Combine(directory, "tls.key"))
            .With($"{section}:Tls:ClientCertificates", clientCertificates)
            .With($"{section}:Tls:ClientCaFile", Path.Combine(directory, "ca.crt"));

    /// <summary>Sends the host's log to <paramref name="log"/> too.</summary>
    public InProcessServer WithLog(ILogEventSink log) => WithServices(services => services.AddSingleton(log));

    /// <summary>Kubernetes mode against the API server at <paramref name="api"/> (none when null).</summary>
    public InProcessServer WithKubernetesApi(Uri? api) => api is null
        ? this
        : With("Kubernetes:Enabled", true).WithServices(services => services.AddSingleton(new k8s.KubernetesClientConfiguration { Host = api.ToString() }));

    /// <summary>Registers more services before the host's own (they win over the host's defaults); none when null.</summary>
    public InProcessServer WithServices(Action<IServiceCollection>? configure)
    {
        if (configure is not null)
        {
            _services.Add(configure);
        }

        return this;
    }

    /// <summary>The host, not started.</summary>
    public ServerHost Create() =>
        ServerHost.Create(new ConfigurationBuilder().AddInMemoryCollection(_settings).Build(), services => _services.ForEach(configure => configure(services)));

    /// <summary>The host, started (disposed when it fails to start).</summary>
    public async Task<ServerHost> StartAsync(CancellationToken cancellationToken)
    {
        var host = Create();
        try
        {
            await host.StartAsync(cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }
}
