using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>TLS on the xDS and tunnel listeners, and node identity on the xDS listener.</summary>
internal static class ListenerTlsServiceCollectionExtensions
{
    /// <summary>
    /// Registers, for each of <paramref name="xds"/> and <paramref name="tunnel"/> that serves TLS, its
    /// <see cref="ListenerCredentials"/> (keyed by <see cref="ListenerKind"/>) and the certificate source that fills them
    /// (files, or the Secret in <paramref name="kubernetes"/> mode); with client certificates on the xDS listener, the
    /// <see cref="NodeIdentityInterceptor"/> bound by <paramref name="identity"/>'s settings; with client certificates on the
    /// tunnel listener, the <see cref="TunnelAgentIdentity"/> check of the same trust domain; with token review on
    /// (Kubernetes mode), the <see cref="ServiceAccountTokenVerifier"/> the interceptor asks about tokens.
    /// </summary>
    public static IServiceCollection AddListenerTls(this IServiceCollection services, XdsListenerOptions xds, TunnelListenerOptions tunnel, IConfiguration identity, bool kubernetes)
    {
        services.AddSectionOptions<NodeIdentityOptions>(identity, options => options.Validate(kubernetes));
        foreach (var (kind, name, tls) in new[] { (ListenerKind.Xds, "xDS", xds.Tls), (ListenerKind.Tunnel, "tunnel", tunnel.Tls) })
        {
            if (!tls.Enabled)
            {
                continue;
            }

            services.AddKeyedSingleton(kind, (provider, _) => new ListenerCredentials(name, tls, provider.GetRequiredService<ILoggerFactory>().CreateLogger<ListenerCredentials>()));
            services.AddHostedService(provider => new CertificateSourceHost(provider, kind, kubernetes));
        }

        var tokens = new TokenReviewOptions();
        identity.GetSection(nameof(NodeIdentityOptions.TokenReview)).Bind(tokens);
        var certificates = xds.Tls.Enabled && xds.Tls.ClientCertificates != ClientCertificates.Off;
        if (certificates || (tokens.Enabled && kubernetes))
        {
            services.AddSingleton(_ => new NodeIdentityMetrics());
            services.AddSingleton(provider => NodeIdentityPolicy.Of(provider.GetRequiredService<IOptions<NodeIdentityOptions>>().Value));
            services.AddSingleton(provider => new NodeIdentityCheck(
                provider.GetRequiredService<NodeIdentityPolicy>(),
                provider.GetService<ServiceAccountTokenVerifier>(),
                provider.GetRequiredService<IOptions<NodeIdentityOptions>>().Value.TokenReview.Mode));
            services.AddSingleton<NodeIdentityInterceptor>(provider => new(
                provider.GetRequiredService<NodeIdentityCheck>(),
                provider.GetRequiredService<INodeGroupResolver>(),
                provider.GetRequiredService<NodeIdentityMetrics>(),
                provider.GetRequiredService<ILogger<NodeIdentityInterceptor>>()));
            services.Configure<GrpcServiceOptions>(grpc => grpc.Interceptors.Add<NodeIdentityInterceptor>());
        }

        if (tokens.Enabled && kubernetes)
        {
            services.AddSingleton<ITokenReviewer>(provider => new KubernetesTokenReviewer(provider.GetRequiredService<k8s.IKubernetes>()));
            services.AddSingleton(provider =>
            {
                var options = provider.GetRequiredService<IOptions<NodeIdentityOptions>>().Value;
                return new ServiceAccountTokenVerifier(
                    provider.GetRequiredService<ITokenReviewer>(),
                    options.TokenReview,
                    options.TrustDomain,
                    provider.GetRequiredService<TimeProvider>(),
                    provider.GetRequiredService<NodeIdentityMetrics>(),
                    provider.GetRequiredService<ILogger<ServiceAccountTokenVerifier>>());
            });
            services.AddHostedService(provider => new TokenReviewAnnouncement(provider.GetRequiredService<IOptions<NodeIdentityOptions>>().Value.TokenReview, xds.Tls.Enabled, provider.GetRequiredService<ILogger<ServiceAccountTokenVerifier>>()));
        }

        if (tunnel.Tls.Enabled && tunnel.Tls.ClientCertificates != ClientCertificates.Off)
        {
            services.AddSingleton<XdsControlPlane.Tunnel.IAgentIdentityCheck>(provider => new TunnelAgentIdentity(provider.GetRequiredService<IOptions<NodeIdentityOptions>>().Value.TrustDomain));
        }

        return services;
    }

    /// <summary>Says on start that tokens are checked, and warns when they would cross the network in the clear.</summary>
    private sealed class TokenReviewAnnouncement(TokenReviewOptions options, bool tls, ILogger logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            TokenReviewLog.TokenReviewOn(logger, options.Mode, options.Audience, options.CacheTtl.TotalSeconds);
            if (!tls)
            {
                TokenReviewLog.PlaintextTokens(logger);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>The credentials of the listener <paramref name="kind"/> when it serves TLS, else null.</summary>
    public static ListenerCredentials? CredentialsOf(IServiceProvider services, string kind) => services.GetKeyedService<ListenerCredentials>(kind);

    /// <summary>Starts the certificate source of one listener's validated settings.</summary>
    private sealed class CertificateSourceHost(IServiceProvider services, string kind, bool kubernetes) : IHostedService, IDisposable
    {
        private BackgroundService? _source;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var credentials = services.GetRequiredKeyedService<ListenerCredentials>(kind);
            var time = services.GetRequiredService<TimeProvider>();
            var options = credentials.Options;
            _source = options.Secret is not null && kubernetes
                ? new ListenerSecretCertificateSource(services.GetRequiredService<k8s.IKubernetes>(), credentials, time, services.GetRequiredService<ILogger<ListenerSecretCertificateSource>>())
                : new ListenerCertificateFiles(credentials, time, services.GetRequiredService<ILogger<ListenerCertificateFiles>>());
            await _source.StartAsync(cancellationToken).ConfigureAwait(false);
            var nodes = services.GetRequiredService<IOptions<NodeIdentityOptions>>().Value;
            var identity = (kind, options.ClientCertificates) switch
            {
                (_, ClientCertificates.Off) => "",
                (ListenerKind.Xds, _) => $"; node identity checked (trust domain {nodes.TrustDomain}, grants {string.Join(", ", nodes.Rules)})",
                _ => $"; agent identity checked (trust domain {nodes.TrustDomain}, the certificate's namespace must be the LocalWorkload's)",
            };
            var logger = services.GetRequiredService<ILogger<ListenerCredentials>>();
            ListenerTlsLog.TlsOn(logger, credentials.Listener, options.ClientCertificates, identity);
        }

        public Task StopAsync(CancellationToken cancellationToken) => _source?.StopAsync(cancellationToken) ?? Task.CompletedTask;

        public void Dispose() => _source?.Dispose();
    }
}
