using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Model;
using XdsControlPlane.Server.GatewayTls;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Translation;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// The server's command line: parses and validates options, prints help, and runs the host with the configuration
/// the flags given, the environment and the <c>--config</c> file make (<see cref="ServerConfiguration"/>); each flag is
/// one configuration key. Exit codes: 0 after a clean shutdown or help, 1 for invalid options, 2 when the host fails
/// to start or crashes.
/// </summary>
public static partial class ServerCommandLine
{
    /// <summary>Builds the root command; <paramref name="run"/> is called with the configuration of validated options.</summary>
    public static RootCommand Build(Func<IConfiguration, CancellationToken, Task<int>> run)
    {
        var config = new Option<FileInfo?>("--config")
        {
            Description = "A JSON file of settings (sections Server, Xds, Admin, Tunnel, Manifests, Kubernetes, Translation, Injection, Webhook, GatewayTls; see docs/server.md); the environment and the flags override it.",
        };
        config.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<FileInfo?>() is { Exists: false } missing)
            {
                result.AddError($"--config must be an existing file, got '{missing.FullName}'.");
            }
        });
        var xdsPort = PortOption("--xds-port", XdsListenerOptions.DefaultPort, "Port for xDS (ADS) over HTTP/2 gRPC; 0 picks a free port.");
        var adminPort = PortOption("--admin-port", AdminEndpointOptions.DefaultPort, "Port for admin HTTP endpoints (/healthz); 0 picks a free port.");
        var loopback = new Option<bool>("--loopback") { Description = "Listen on 127.0.0.1 only instead of every interface." };
        var maxStreamAge = new Option<TimeSpan>("--max-stream-age")
        {
            Description = "End xDS streams after this long (±10%) so clients rebalance across replicas, e.g. 30m, 1h.",
            DefaultValueFactory = _ => XdsServerOptions.DefaultMaxStreamAge,
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (GoDuration.TryParse(text, out var age) && age > TimeSpan.Zero && age <= XdsServerOptions.MaxFiniteStreamAge)
                {
                    return age;
                }

                result.AddError($"--max-stream-age must be a positive duration up to 720h, such as 90s, 30m or 1h, got '{text}'.");
                return default;
            },
        };
        var maxRequestBytes = new Option<int>("--max-request-bytes")
        {
            Description = "The largest xDS request accepted, in bytes or with a suffix Ki, Mi or Gi (e.g. 16Mi); a larger one ends its stream with RESOURCE_EXHAUSTED.",
            DefaultValueFactory = _ => XdsServerOptions.DefaultMaxRequestBytes,
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (ByteSize.TryParse(text, out var bytes) && bytes is >= XdsServerOptions.MinMaxRequestBytes and <= XdsServerOptions.MaxMaxRequestBytes)
                {
                    return (int)bytes;
                }

                result.AddError($"--max-request-bytes must be a size from 64Ki to 1Gi (65536 to 1073741824 bytes), such as 4Mi or 16777216, got '{text}'.");
                return default;
            },
        };
        var debugToken = new Option<string?>("--debug-token")
        {
            Description = $"Let clients that are not on loopback read /debug with Authorization: Bearer <token> (default: ${ServerConfiguration.DebugTokenVariable}; without either, /debug is served to loopback clients only).",
        };

        // The flag, else the environment variable (which keeps the token out of the process list).
        (string? Token, string Source) DebugTokenOf(string? flag) => flag is not null
            ? (flag, "--debug-token")
            : (Environment.GetEnvironmentVariable(ServerConfiguration.DebugTokenVariable) is { Length: > 0 } variable ? variable : null, ServerConfiguration.DebugTokenVariable);
        var logFormat = new Option<LogFormat>("--log-format")
        {
            Description = "Console log format: plain or json.",
            DefaultValueFactory = _ => LogFormat.Plain,
        };

        var manifests = new Option<DirectoryInfo?>("--manifests")
        {
            Description = "Serve the RouteGroups, Sandboxes, LocalWorkloads, Services and EndpointSlices in the YAML files below this directory, reloading on change.",
        };
        manifests.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<DirectoryInfo?>() is { Exists: false } missing)
            {
                result.AddError($"--manifests must be an existing directory, got '{missing.FullName}'.");
            }
        });

        var kubernetes = new Option<bool>("--kubernetes")
        {
            Description = "Serve the RouteGroups, Sandboxes, LocalWorkloads, Services and EndpointSlices of the Kubernetes cluster (in-cluster service account, else the kubeconfig).",
        };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "The kubeconfig file for --kubernetes (default: the files in KUBECONFIG, merged as kubectl does; else in a pod its service account; else ~/.kube/config)." };
        var context = new Option<string?>("--context") { Description = "The kubeconfig context for --kubernetes (default: the current one)." };
        var watchNamespaces = new Option<string[]>("--watch-namespace")
        {
            Description = "With --kubernetes, read objects and reconcile Sandboxes in this namespace only (repeat it, or separate with commas; default: all namespaces).",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result => [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal)],
        };

        var tunnelPort = PortOption("--tunnel-port", TunnelListenerOptions.DefaultPort, "Port of the tunnel broker (gRPC over HTTP/2) that sandboxctl local connect agents connect to; 0 picks a free port.");
        var tunnelToken = new Option<string?>("--tunnel-token")
        {
            Description = $"Manifests mode: the token agents on other hosts must present (sandboxctl local connect --token); without it only agents on this host are admitted. Also read from {ServerConfiguration.TunnelTokenVariable}.",
        };
        var tunnelAddress = new Option<string?>("--tunnel-address")
        {
            Description = "The address data planes dial to reach this replica's tunnel listeners (default: POD_IP, else 127.0.0.1 with --loopback, else this host's first IPv4 address).",
        };
        var tunnelListenPorts = new Option<string>("--tunnel-listen-ports")
        {
            Description = "The ports of the per-workload tunnel listeners, FIRST-LAST (one per LocalWorkload port this replica serves), or 0 for free ports.",
            DefaultValueFactory = _ => "18100-18199",
        };

        var scopedRoutes = new Option<bool>("--scoped-routes")
        {
            Description = "Experimental (no real Envoy has run it yet): gateways load their routes through scoped RDS, a route configuration per Service picked by the request's host, so a change re-sends one Service's routes instead of every Service's.",
        };

        var (previewDomain, previewSalt, previewRateLimit) = PreviewOptions();
        var (injectProxyImage, injectInitImage, injectXdsAddress, injectNativeSidecar) = InjectionOptions();
        var injectXdsCaFile = new Option<FileInfo?>("--inject-xds-ca-file") { Description = "When the xDS listener serves TLS: the CA bundle (PEM) its certificate chains to, read on start and written into every injected proxy's bootstrap, which then reaches the control plane over TLS." };
        var injectXdsServerName = new Option<string?>("--inject-xds-server-name") { Description = "With --inject-xds-ca-file: the name the control plane's certificate must carry (default the --inject-xds-address host)." };
        var webhookPort = PortOption("--webhook-port", WebhookListenerOptions.DefaultPort, "Port of the mutating admission webhook (HTTPS, POST /inject, AdmissionReview v1); 0 turns it off.");
        var webhookCertFile = new Option<FileInfo?>("--webhook-cert-file") { Description = "The webhook's serving certificate (PEM), reloaded when the file changes; with --webhook-key-file. Without either, a CA and certificate are generated (or kept in --webhook-secret)." };
        var webhookKeyFile = new Option<FileInfo?>("--webhook-key-file") { Description = "The private key (PEM) of --webhook-cert-file." };
        var webhookCaFile = new Option<FileInfo?>("--webhook-ca-file") { Description = "Write the CA of a generated webhook certificate to this file (PEM); it is also served on the admin port at /debug/webhook-ca." };
        var webhookDnsNames = new Option<string[]>("--webhook-dns-name")
        {
            Description = "A DNS name of the generated webhook certificate (repeat it; default localhost, plus SERVICE.NAMESPACE.svc with --webhook-service); 127.0.0.1 and ::1 are always in it.",
            AllowMultipleArgumentsPerToken = false,
        };
        var webhookService = new Option<string?>("--webhook-service") { Description = "With --kubernetes: the webhook's Service, whose SERVICE.NAMESPACE.svc (the server's namespace, POD_NAMESPACE) the generated certificate names." };
        var webhookSecret = new Option<string?>("--webhook-secret") { Description = "With --kubernetes: keep the webhook certificate in this kubernetes.io/tls Secret of the server's namespace; the leader creates it when absent and renews it, every replica serves it." };
        var webhookConfiguration = new Option<string?>("--webhook-configuration") { Description = "With --kubernetes and --webhook-secret: the MutatingWebhookConfiguration whose webhooks' clientConfig.caBundle the leader keeps equal to the Secret's CA." };

        var (gatewayTlsSecret, gatewayTlsCertFile, gatewayTlsKeyFile, gatewayHttpsPort) = GatewayTlsFlags();
        var previewAccess = PreviewAccessFlags();
        var xdsTls = ListenerTlsFlagSet.For("--xds", XdsListenerOptions.Section, "xDS listener (and the preview authorization service on it)");
        var tunnelTls = ListenerTlsFlagSet.For("--tunnel", TunnelListenerOptions.Section, "tunnel broker");
        var trustDomain = new Option<string?>("--xds-trust-domain") { Description = "With --xds-tls-client-certs: the SPIFFE trust domain of client certificates (default cluster.local)." };
        var roleIdentities = new Option<string[]>("--xds-role-identity")
        {
            Description = "With --xds-tls-client-certs: ROLE=NAMESPACE/SERVICEACCOUNT lets that identity (* for any) receive the configuration of ROLE (gateway, sidecar, grpc); repeat it. Default: sidecar=*/* and grpc=*/*, the gateway role granted to no one.",
            AllowMultipleArgumentsPerToken = false,
        };
        var tokenReview = new Option<ListenerTls.TokenReviewMode>("--xds-token-review")
        {
            Description = "With --kubernetes: check the ServiceAccount token an xDS client sends (authorization: Bearer metadata) with TokenReview and hold it against the node's role like a client certificate: off (default), optional (checked when sent) or required (every stream needs a token or a client certificate).",
            DefaultValueFactory = _ => ListenerTls.TokenReviewMode.Off,
        };
        var tokenAudience = new Option<string?>("--xds-token-audience") { Description = $"With --xds-token-review: the audience xDS clients' tokens must be issued for (default {ListenerTls.TokenReviewOptions.DefaultAudience}; the projected token's audience)." };
        var root = new RootCommand("XdsControlPlane server: serves Envoy and proxyless gRPC clients over xDS.")
        {
            config, xdsPort, adminPort, loopback, maxStreamAge, maxRequestBytes, debugToken, logFormat, manifests, kubernetes, kubeconfig, context, watchNamespaces,
            tunnelPort, tunnelToken, tunnelAddress, tunnelListenPorts, scopedRoutes, previewDomain, previewSalt, previewRateLimit,
            injectProxyImage, injectInitImage, injectXdsAddress, injectNativeSidecar, injectXdsCaFile, injectXdsServerName,
            webhookPort, webhookCertFile, webhookKeyFile, webhookCaFile, webhookDnsNames, webhookService, webhookSecret, webhookConfiguration,
            gatewayTlsSecret, gatewayTlsCertFile, gatewayTlsKeyFile, gatewayHttpsPort,
        };
        foreach (var option in previewAccess.All.Concat(xdsTls.All).Concat(tunnelTls.All).Append(trustDomain).Append(roleIdentities).Append(tokenReview).Append(tokenAudience))
        {
            root.Options.Add(option);
        }

        root.Validators.Add(result =>
        {
            // A value that did not parse (--xds-port abc) is reported by its own option; the cross-checks need parsed values.
            if (!Parses(result, xdsPort) || !Parses(result, adminPort) || !Parses(result, tunnelPort) || !Parses(result, webhookPort))
            {
                return;
            }

            var xds = result.GetValue(xdsPort);
            var admin = result.GetValue(adminPort);
            if (xds != 0 && xds == admin)
            {
                result.AddError($"--xds-port and --admin-port must differ, both are {xds.ToString(CultureInfo.InvariantCulture)}.");
            }

            if (result.GetValue(manifests) is not null && result.GetValue(kubernetes))
            {
                result.AddError("--manifests and --kubernetes are alternative sources; give one.");
            }

            if (!result.GetValue(kubernetes) && result.GetValue(tokenReview) != ListenerTls.TokenReviewMode.Off)
            {
                result.AddError("--xds-token-review applies with --kubernetes only: ServiceAccount tokens are checked by the API server's TokenReview, and manifests mode has none.");
            }

            if (!result.GetValue(kubernetes) && (result.GetValue(kubeconfig) is not null || result.GetValue(context) is not null))
            {
                result.AddError("--kubeconfig and --context only apply with --kubernetes.");
            }

            var namespaces = result.GetValue(watchNamespaces) ?? [];
            if (!result.GetValue(kubernetes) && namespaces.Length > 0)
            {
                result.AddError("--watch-namespace only applies with --kubernetes.");
            }

            foreach (var ns in namespaces.Where(ns => !SchemaPatterns.IsDnsLabel(ns)))
            {
                result.AddError($"--watch-namespace must be a namespace name (lower-case letters, digits and '-', at most 63), got '{ns}'.");
            }

            if (DebugTokenOf(result.GetValue(debugToken)) is ({ } token, var source) && !BearerToken().IsMatch(token))
            {
                // Never echo the token: name where it came from and what is wrong with it.
                var got = token.All(c => char.IsAsciiLetterOrDigit(c) || "-._~+/=".Contains(c, StringComparison.Ordinal))
                    ? string.Create(CultureInfo.InvariantCulture, $"{token.Length} characters")
                    : "a character outside those";
                result.AddError($"{source} must be a bearer token of at least {ServerConfiguration.MinTokenLength.ToString(CultureInfo.InvariantCulture)} letters, digits and -._~+/, got {got}.");
            }

            var tunnel = result.GetValue(tunnelPort);
            if (tunnel != 0 && (tunnel == xds || tunnel == admin))
            {
                result.AddError($"--tunnel-port must differ from --xds-port and --admin-port, got {tunnel.ToString(CultureInfo.InvariantCulture)}.");
            }

            if (result.GetValue(tunnelListenPorts) is { Length: > 0 } range && ListenPortRange(range) is null)
            {
                result.AddError($"--tunnel-listen-ports must be FIRST-LAST within 1-65535 (at most 10000 ports) or 0, got '{result.GetValue(tunnelListenPorts)}'.");
            }

            if (TunnelTokenOf(result.GetValue(tunnelToken)) is ({ } secret, var origin))
            {
                if (result.GetValue(kubernetes))
                {
                    result.AddError($"{origin} applies in manifests mode only: with --kubernetes, agents prove themselves with the LocalWorkload's secret hash.");
                }
                else if (!BearerToken().IsMatch(secret))
                {
                    result.AddError($"{origin} must be at least {ServerConfiguration.MinTokenLength.ToString(CultureInfo.InvariantCulture)} letters, digits and -._~+/.");
                }
            }

            if (result.GetValue(tunnelAddress) is { } advertised && !System.Net.IPAddress.TryParse(advertised, out _))
            {
                result.AddError($"--tunnel-address must be an IP address, got '{advertised}'.");
            }

            if (result.GetValue(kubeconfig) is { Exists: false } missing)
            {
                result.AddError($"--kubeconfig must be an existing file, got '{missing.FullName}'.");
            }

            var webhook = result.GetValue(webhookPort);
            if (webhook != 0 && (webhook == xds || webhook == admin || webhook == tunnel))
            {
                result.AddError($"--webhook-port must differ from --xds-port, --admin-port and --tunnel-port, got {webhook.ToString(CultureInfo.InvariantCulture)}.");
            }

            WebhookProblems(result, webhookCertFile, webhookKeyFile, webhookSecret, webhookConfiguration, webhookService, kubernetes);
        });

        // Each flag given sets one configuration key (a flag left at its default sets none, so the file and the
        // environment show through); the host binds each area's options from its section.
        var keys = new FlagKeys()
            .Add(xdsPort, Key(XdsListenerOptions.Section, nameof(ListenerOptions.Port)), Invariant)
            .Add(adminPort, Key(AdminEndpointOptions.Section, nameof(ListenerOptions.Port)), Invariant)
            .Add(tunnelPort, Key(TunnelListenerOptions.Section, nameof(ListenerOptions.Port)), Invariant)
            .Add(loopback, Key(HostingOptions.Section, nameof(HostingOptions.Loopback)), Invariant)
            .Add(logFormat, Key(HostingOptions.Section, nameof(HostingOptions.LogFormat)), format => format.ToString())
            .Add(maxStreamAge, Key(XdsListenerOptions.Section, nameof(XdsServerOptions.MaxStreamAge)), age => age.ToString("c", CultureInfo.InvariantCulture))
            .Add(maxRequestBytes, Key(XdsListenerOptions.Section, nameof(XdsServerOptions.MaxRequestBytes)), Invariant)
            .Add(debugToken, Key(AdminEndpointOptions.Section, nameof(AdminEndpointOptions.DebugToken)), token => token)
            .Add(manifests, Key(ServerConfiguration.ManifestsSection, "Directory"), directory => directory?.FullName)
            .Add(kubernetes, Key(KubernetesSourcesOptions.Section, nameof(KubernetesSourcesOptions.Enabled)), Invariant)
            .Add(kubeconfig, Key(KubernetesSourcesOptions.Section, nameof(KubernetesSourcesOptions.Kubeconfig)), file => file?.FullName)
            .Add(context, Key(KubernetesSourcesOptions.Section, nameof(KubernetesSourcesOptions.Context)), name => name)
            .AddList(watchNamespaces, Key(KubernetesSourcesOptions.Section, nameof(KubernetesSourcesOptions.Namespaces)))
            .Add(tunnelToken, Key(TunnelListenerOptions.Section, nameof(TunnelListenerOptions.Token)), token => token)
            .Add(tunnelAddress, Key(TunnelListenerOptions.Section, nameof(TunnelBrokerOptions.AdvertiseAddress)), address => address)
            .Add(scopedRoutes, Key(PublishOptions.TranslationSection, nameof(TranslationOptions.ScopedRoutes)), Invariant)
            .Add(previewDomain, Key(PublishOptions.TranslationSection, nameof(TranslationOptions.PreviewDomain)), domain => domain)
            .Add(previewSalt, Key(PublishOptions.TranslationSection, nameof(TranslationOptions.PreviewSalt)), salt => salt)
            .AddPair(previewRateLimit, Key(PublishOptions.TranslationSection, nameof(TranslationOptions.PreviewRequestsPerSecond)), Key(PublishOptions.TranslationSection, nameof(TranslationOptions.PreviewBurst)))
            .Add(webhookPort, Key(WebhookListenerOptions.Section, nameof(ListenerOptions.Port)), Invariant)
            .Add(webhookCertFile, Key(WebhookListenerOptions.Section, nameof(WebhookListenerOptions.CertFile)), file => file?.FullName)
            .Add(webhookKeyFile, Key(WebhookListenerOptions.Section, nameof(WebhookListenerOptions.KeyFile)), file => file?.FullName)
            .Add(webhookCaFile, Key(WebhookListenerOptions.Section, nameof(WebhookListenerOptions.CaFile)), file => file?.FullName)
            .AddList(webhookDnsNames, Key(WebhookListenerOptions.Section, nameof(WebhookListenerOptions.DnsNames)))
            .Add(webhookService, Key(WebhookListenerOptions.Section, nameof(WebhookListenerOptions.Service)), name => name)
            .Add(webhookSecret, Key(WebhookListenerOptions.Section, nameof(WebhookListenerOptions.Secret)), name => name)
            .Add(webhookConfiguration, Key(WebhookListenerOptions.Section, nameof(WebhookListenerOptions.Configuration)), name => name)
            .AddRange(tunnelListenPorts, Key(TunnelListenerOptions.Section, nameof(TunnelBrokerOptions.FirstListenPort)), Key(TunnelListenerOptions.Section, nameof(TunnelBrokerOptions.ListenPortCount)))
            .Add(injectProxyImage, Key(SidecarInjectionOptions.Section, nameof(SidecarInjectionOptions.ProxyImage)), image => image)
            .Add(injectInitImage, Key(SidecarInjectionOptions.Section, nameof(SidecarInjectionOptions.InitImage)), image => image)
            .Add(injectXdsAddress, Key(SidecarInjectionOptions.Section, nameof(SidecarInjectionOptions.XdsAddress)), address => address)
            .Add(injectNativeSidecar, Key(SidecarInjectionOptions.Section, nameof(SidecarInjectionOptions.NativeSidecar)), mode => mode)
            .Add(injectXdsCaFile, Key(SidecarInjectionOptions.Section, nameof(SidecarInjectionOptions.XdsCaFile)), file => file?.FullName)
            .Add(injectXdsServerName, Key(SidecarInjectionOptions.Section, nameof(SidecarInjectionOptions.XdsServerName)), name => name)
            .Add(gatewayTlsSecret, Key(GatewayTlsOptions.Section, nameof(GatewayTlsOptions.Secret)), name => name)
            .Add(gatewayTlsCertFile, Key(GatewayTlsOptions.Section, nameof(GatewayTlsOptions.CertFile)), file => file?.FullName)
            .Add(gatewayTlsKeyFile, Key(GatewayTlsOptions.Section, nameof(GatewayTlsOptions.KeyFile)), file => file?.FullName)
            .Add(gatewayHttpsPort, Key(PublishOptions.TranslationSection, nameof(TranslationOptions.GatewayHttpsPort)), Invariant);
        previewAccess.AddKeys(keys);
        xdsTls.AddKeys(keys);
        tunnelTls.AddKeys(keys);
        keys.Add(trustDomain, Key(XdsListenerOptions.Section, nameof(ListenerTls.NodeIdentityOptions.TrustDomain)), domain => domain)
            .AddList(roleIdentities, Key(XdsListenerOptions.Section, nameof(ListenerTls.NodeIdentityOptions.RoleIdentities)))
            .Add(tokenReview, Key($"{XdsListenerOptions.Section}:{nameof(ListenerTls.NodeIdentityOptions.TokenReview)}", nameof(ListenerTls.TokenReviewOptions.Mode)), mode => mode.ToString())
            .Add(tokenAudience, Key($"{XdsListenerOptions.Section}:{nameof(ListenerTls.NodeIdentityOptions.TokenReview)}", nameof(ListenerTls.TokenReviewOptions.Audience)), audience => audience);
        root.SetAction(async (parse, cancellation) =>
        {
            IConfiguration configuration;
            try
            {
                configuration = ServerConfiguration.Build(parse.GetValue(config)?.FullName, keys.Given(parse));
            }
            catch (InvalidDataException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"--config: {e.Message} {e.InnerException?.Message}").ConfigureAwait(false);
                return 1;
            }

            return await run(configuration, cancellation).ConfigureAwait(false);
        });
        return root;
    }

    /// <summary>
    /// The gateway HTTPS flags (section <c>GatewayTls</c>, and <c>Translation:GatewayHttpsPort</c>; checked with the rest of
    /// their options when the host starts): the certificate's Secret or files, and the HTTPS listener's port.
    /// </summary>
    private static (Option<string?> Secret, Option<FileInfo?> CertFile, Option<FileInfo?> KeyFile, Option<int> HttpsPort) GatewayTlsFlags()
    {
        var httpsPort = new Option<int>("--gateway-https-port")
        {
            Description = "Port of the gateways' HTTPS listener, served when a gateway certificate is configured (default 8443; the chart's Service maps 443 to it).",
            DefaultValueFactory = _ => new TranslationOptions().GatewayHttpsPort,
        };
        httpsPort.Validators.Add(result =>
        {
            var port = result.GetValueOrDefault<int>();
            if (port is < 1 or > 65535)
            {
                result.AddError($"--gateway-https-port must be between 1 and 65535, got {port.ToString(CultureInfo.InvariantCulture)}.");
            }
        });
        return (
            new Option<string?>("--gateway-tls-secret") { Description = "With --kubernetes: the gateways' HTTPS certificate (a wildcard for *.<preview domain>) from this kubernetes.io/tls Secret, NAMESPACE/NAME (cert-manager's tls.crt with the chain, tls.key), watched and sent to gateways over SDS." },
            new Option<FileInfo?>("--gateway-tls-cert-file") { Description = "The gateways' HTTPS certificate chain (PEM, leaf first), reloaded when the file changes and sent to gateways over SDS; with --gateway-tls-key-file." },
            new Option<FileInfo?>("--gateway-tls-key-file") { Description = "The private key (PEM) of --gateway-tls-cert-file." },
            httpsPort);
    }

    /// <summary>The preview flags (section <c>Translation</c>; the values' ranges are checked with the translation's options when the host starts).</summary>
    private static (Option<string?> Domain, Option<string?> Salt, Option<(int RequestsPerSecond, int Burst)> RateLimit) PreviewOptions()
    {
        var domain = new Option<string?>("--preview-domain")
        {
            Description = "Serve preview URLs <service>-<port>-<hash>.DOMAIN at the gateway for the previews of Sandboxes and LocalWorkloads (e.g. preview.example.com; DNS *.DOMAIN must reach the gateway). Without it previews are off.",
        };
        var salt = new Option<string?>("--preview-salt")
        {
            Description = "Mixed into the hash of every preview host name so names cannot be derived from namespace and name; give every replica the same one (default: none).",
        };
        var rateLimit = new Option<(int RequestsPerSecond, int Burst)>("--preview-rate-limit")
        {
            Description = "Each preview host's rate limit per gateway replica, RPS/BURST (default 50/100); a Sandbox's or LocalWorkload's spec.previewRateLimit overrides it.",
            DefaultValueFactory = _ => (50, 100),
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                var parts = text.Split('/');
                if (parts.Length == 2
                    && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rps) && rps is >= 1 and <= PreviewRateLimit.MaxRequestsPerSecond
                    && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var burst) && burst >= rps && burst <= PreviewRateLimit.MaxBurst)
                {
                    return (rps, burst);
                }

                result.AddError($"--preview-rate-limit must be RPS/BURST with RPS from 1 to {PreviewRateLimit.MaxRequestsPerSecond.ToString(CultureInfo.InvariantCulture)} and BURST from RPS to {PreviewRateLimit.MaxBurst.ToString(CultureInfo.InvariantCulture)}, such as 50/100, got '{text}'.");
                return default;
            },
        };
        return (domain, salt, rateLimit);
    }

    /// <summary>The preview authorization service's flags (section <c>PreviewAccess</c>; checked with the rest of its options when the host starts).</summary>
    private static PreviewAccessFlagSet PreviewAccessFlags() => new(
        new Option<string[]>("--preview-admin-group")
        {
            Description = "A group whose members' preview grants open every personal preview (repeat it); the admission webhook records the creator's membership on each PreviewGrant.",
            AllowMultipleArgumentsPerToken = false,
        },
        new Option<TimeSpan>("--preview-session-max-age")
        {
            Description = "The longest browser session a preview link starts, e.g. 12h (a session never outlives its grant).",
            DefaultValueFactory = _ => TimeSpan.FromHours(12),
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (GoDuration.TryParse(text, out var age) && age >= TimeSpan.FromMinutes(1) && age <= TimeSpan.FromDays(30))
                {
                    return age;
                }

                result.AddError($"--preview-session-max-age must be a duration from 1m to 720h, such as 30m or 12h, got '{text}'.");
                return default;
            },
        },
        new Option<bool>("--preview-check-preflight") { Description = "Ask a token of CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) to shared and personal previews too; by default they pass, since browsers send them without cookies." },
        new Option<string?>("--preview-session-secret") { Description = "With --kubernetes: the Secret (server's namespace) holding the key that signs preview session cookies; the leader creates it when absent (default xds-control-plane-preview-session)." },
        new Option<FileInfo?>("--preview-session-key-file") { Description = "Without --kubernetes: the file holding the key that signs preview session cookies, created (mode 0600) when absent; without it sessions end with the process." });

    /// <summary>The preview authorization service's flags and the keys they set.</summary>
    private sealed record PreviewAccessFlagSet(Option<string[]> AdminGroups, Option<TimeSpan> SessionMaxAge, Option<bool> CheckPreflight, Option<string?> SessionSecret, Option<FileInfo?> SessionKeyFile)
    {
        public IEnumerable<Option> All => [AdminGroups, SessionMaxAge, CheckPreflight, SessionSecret, SessionKeyFile];

        public void AddKeys(FlagKeys keys)
        {
            const string Section = Previews.PreviewAccessOptions.Section;
            keys.AddList(AdminGroups, Key(Section, nameof(Previews.PreviewAccessOptions.AdminGroups)))
                .Add(SessionMaxAge, Key(Section, nameof(Previews.PreviewAccessOptions.SessionMaxAge)), age => age.ToString("c", CultureInfo.InvariantCulture))
                .Add(CheckPreflight, Key(Section, nameof(Previews.PreviewAccessOptions.CheckPreflight)), Invariant)
                .Add(SessionSecret, Key(Section, nameof(Previews.PreviewAccessOptions.SessionKeySecret)), name => name)
                .Add(SessionKeyFile, Key(Section, nameof(Previews.PreviewAccessOptions.SessionKeyFile)), file => file?.FullName);
        }
    }

    /// <summary>
    /// A listener's TLS flags (<c>--xds-tls-…</c>, <c>--tunnel-tls-…</c>; section <c>Xds:Tls</c>, <c>Tunnel:Tls</c>, checked
    /// with the rest of the listener's options when the host starts).
    /// </summary>
    private sealed record ListenerTlsFlagSet(string Section, Option<FileInfo?> CertFile, Option<FileInfo?> KeyFile, Option<string?> Secret, Option<ListenerTls.ClientCertificates> ClientCertificates, Option<FileInfo?> ClientCaFile)
    {
        public IEnumerable<Option> All => [CertFile, KeyFile, Secret, ClientCertificates, ClientCaFile];

        public static ListenerTlsFlagSet For(string prefix, string section, string listener) => new(
            section,
            new Option<FileInfo?>($"{prefix}-tls-cert-file") { Description = $"Serve the {listener} over TLS with this certificate (PEM, leaf first), reloaded when the file changes (new connections get the new one); with {prefix}-tls-key-file. Without it, plaintext." },
            new Option<FileInfo?>($"{prefix}-tls-key-file") { Description = $"The private key (PEM) of {prefix}-tls-cert-file." },
            new Option<string?>($"{prefix}-tls-secret") { Description = $"With --kubernetes: serve the {listener} over TLS with the certificate of this kubernetes.io/tls Secret, NAMESPACE/NAME (tls.crt, tls.key; ca.crt is the client CA unless {prefix}-tls-client-ca-file is given), watched." },
            new Option<ListenerTls.ClientCertificates>($"{prefix}-tls-client-certs") { Description = $"Client certificates on the {listener}: off (default), optional (checked when presented) or required.", DefaultValueFactory = _ => ListenerTls.ClientCertificates.Off },
            new Option<FileInfo?>($"{prefix}-tls-client-ca-file") { Description = $"The CA bundle (PEM) client certificates of the {listener} must chain to; read again when it changes." });

        public void AddKeys(FlagKeys keys)
        {
            var tls = $"{Section}:{nameof(XdsListenerOptions.Tls)}";
            keys.Add(CertFile, Key(tls, nameof(ListenerTls.ListenerTlsOptions.CertFile)), file => file?.FullName)
                .Add(KeyFile, Key(tls, nameof(ListenerTls.ListenerTlsOptions.KeyFile)), file => file?.FullName)
                .Add(Secret, Key(tls, nameof(ListenerTls.ListenerTlsOptions.Secret)), name => name)
                .Add(ClientCertificates, Key(tls, nameof(ListenerTls.ListenerTlsOptions.ClientCertificates)), mode => mode.ToString())
                .Add(ClientCaFile, Key(tls, nameof(ListenerTls.ListenerTlsOptions.ClientCaFile)), file => file?.FullName);
        }
    }

    /// <summary>The sidecar injector's flags (section <c>Injection</c>; checked with the rest of its options when the host starts).</summary>
    private static (Option<string?> ProxyImage, Option<string?> InitImage, Option<string?> XdsAddress, Option<string?> NativeSidecar) InjectionOptions()
    {
        var nativeSidecar = new Option<string?>("--inject-native-sidecar")
        {
            Description = "Inject the proxy as a native sidecar (an init container with restartPolicy Always): auto (when Injection:ClusterMinorVersion is 33 or later), always or never.",
        };
        nativeSidecar.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } mode && mode is not ("auto" or "always" or "never"))
            {
                result.AddError($"--inject-native-sidecar must be auto, always or never, got '{mode}'.");
            }
        });
        return (
            new Option<string?>("--inject-proxy-image") { Description = "The Envoy image the sidecar injector adds (default envoyproxy/envoy:v1.39.6)." },
            new Option<string?>("--inject-init-image") { Description = "The sandboxctl-init image (src/sandboxctl-init) that installs the iptables redirect in injected pods." },
            new Option<string?>("--inject-xds-address") { Description = "The control plane's xDS address injected proxies dial: host:port or [IPv6]:port (default xds-control-plane.sandboxctl-system.svc.cluster.local:18000)." },
            nativeSidecar);
    }

    /// <summary>The webhook flags' cross-checks: the certificate pair together, its files existing, the cluster flags with --kubernetes only.</summary>
    private static void WebhookProblems(
        System.CommandLine.Parsing.CommandResult result, Option<FileInfo?> certFile, Option<FileInfo?> keyFile, Option<string?> secret, Option<string?> configuration, Option<string?> service, Option<bool> kubernetes)
    {
        if ((result.GetValue(certFile) is null) != (result.GetValue(keyFile) is null))
        {
            result.AddError("--webhook-cert-file and --webhook-key-file go together; give both or neither.");
        }

        foreach (var file in new[] { result.GetValue(certFile), result.GetValue(keyFile) })
        {
            if (file is { Exists: false })
            {
                result.AddError($"--webhook-cert-file and --webhook-key-file must be existing files, got '{file.FullName}'.");
            }
        }

        if (result.GetValue(certFile) is not null && result.GetValue(secret) is not null)
        {
            result.AddError("--webhook-cert-file and --webhook-secret are alternative certificate sources; give one.");
        }

        foreach (var option in new[] { secret, configuration, service })
        {
            if (!result.GetValue(kubernetes) && result.GetValue(option) is not null)
            {
                result.AddError($"{option.Name} only applies with --kubernetes.");
            }
        }
    }

    private static (string? Token, string Source) TunnelTokenOf(string? flag) => flag is not null
        ? (flag, "--tunnel-token")
        : (Environment.GetEnvironmentVariable(ServerConfiguration.TunnelTokenVariable) is { Length: > 0 } variable ? variable : null, ServerConfiguration.TunnelTokenVariable);

    /// <summary><c>FIRST-LAST</c> as (first, count), <c>0</c> as (0, 0); null when malformed.</summary>
    internal static (int First, int Count)? ListenPortRange(string? text)
    {
        if (text == "0")
        {
            return (0, 0);
        }

        var parts = (text ?? "").Split('-', 2);
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            && first is >= 1 and <= 65535 && last >= first && last <= 65535 && last - first < 10000
            ? (first, last - first + 1)
            : null;
    }

    private static string Key(string section, string name) => ServerConfiguration.Key(section, name);

    private static string Invariant<T>(T value)
        where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);

    private static string Invariant(bool value) => value ? "true" : "false";

    private static Option<int> PortOption(string name, int defaultPort, string description)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultPort };
        option.Validators.Add(result =>
        {
            var port = result.GetValueOrDefault<int>();
            if (port is < 0 or > 65535)
            {
                result.AddError($"{name} must be between 0 and 65535, got {port.ToString(CultureInfo.InvariantCulture)}.");
            }
        });
        return option;
    }

    /// <summary>Whether <paramref name="option"/>'s value (given or default) parses.</summary>
    private static bool Parses<T>(System.CommandLine.Parsing.CommandResult result, Option<T> option)
    {
        try
        {
            _ = result.GetValue(option);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>RFC 6750 <c>b64token</c>, at least 16 characters.</summary>
    [GeneratedRegex("^[A-Za-z0-9._~+/-]{16,}=*\\z")]
    private static partial Regex BearerToken();
}
