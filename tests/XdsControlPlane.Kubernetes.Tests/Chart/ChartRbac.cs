using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests.Chart;

/// <summary>One permission a chart role grants: where (<c>null</c>: cluster-wide, a ClusterRole), group, resource and verb, and the names it is limited to (empty: any).</summary>
internal sealed record Grant(string? Namespace, string Group, string Resource, string Verb, IReadOnlyList<string> Names, string Role = "")
{
    /// <summary>Whether this grant lets <paramref name="request"/> through (the recorder has no object names: a grant limited to names counts as matching).</summary>
    public bool Allows(RecordedRequest request) =>
        Group == request.Group && Resource == request.Resource && Verb == request.Verb && (Namespace is null || Namespace == request.Namespace);

    /// <summary><c>group/resource:verb</c>, as <see cref="FakeApiServer.Permissions"/> spells it.</summary>
    public string Permission => $"{Group}/{Resource}:{Verb}";
}

/// <summary>
/// The control plane's RBAC as <c>templates/rbac.yaml</c> renders it for a choice of values: the roles of the
/// ServiceAccount <c>xds-control-plane</c>, each rule expanded to one <see cref="Grant"/> per group, resource and verb.
/// </summary>
internal static class ChartRbac
{
    /// <summary>The release namespace the tests install into (the Lease namespace the server defaults to).</summary>
    public const string ReleaseNamespace = "sandboxctl-system";

    private const string ClusterWide = "if not .Values.watchNamespaces";
    private const string PerNamespace = "else of if not .Values.watchNamespaces";
    private const string SelfManagedCertificate = "if and .Values.webhook.enabled (not .Values.webhook.certManager.enabled)";
    private const string GatewayTlsSecret = "if .Values.gateway.tls.secretName";
    private const string Previews = "if .Values.previews.domain";
    private const string XdsTlsSecret = "if .Values.listenerTls.xds.secretName";
    private const string TunnelTlsSecret = "if .Values.listenerTls.tunnel.secretName";
    private const string TokenReview = "if ne .Values.listenerTls.xds.tokenReview \"off\"";

    /// <summary>
    /// Grants the RBAC scenario cannot reach: renewing the webhook's Secret (an <c>update</c> once a third of the
    /// certificate's life is left), which <c>WebhookCertificateSecretTests.SecretExpiring_LeaderRenewsItKeepingThePreviousCaTrusted</c> exercises.
    /// </summary>
    public static IReadOnlySet<string> NotReachedByTheScenario { get; } = new HashSet<string>(StringComparer.Ordinal) { "/secrets:update" };

    /// <summary>What the webhook's certificate management asks: the Secret it creates, reads and renews, and the caBundle it patches.</summary>
    public static IReadOnlySet<string> WebhookCertificateGrants { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "/secrets:create", "/secrets:get", "/secrets:update",
        "admissionregistration.k8s.io/mutatingwebhookconfigurations:get", "admissionregistration.k8s.io/mutatingwebhookconfigurations:patch",
    };

    /// <summary>The Role of the preview session key's Secret (read by every replica, created by the leader when absent).</summary>
    public const string PreviewSessionRole = "xds-control-plane-preview-session";

    /// <summary>The only cluster-wide grants when <c>watchNamespaces</c> is set: the webhook's own configuration.</summary>
    public static IReadOnlySet<string> ClusterWideWithWatchNamespaces { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "admissionregistration.k8s.io/mutatingwebhookconfigurations:get", "admissionregistration.k8s.io/mutatingwebhookconfigurations:patch",
    };

    /// <summary>
    /// The grants for <paramref name="watchNamespaces"/> (empty: every namespace) with the webhook's own certificate
    /// management (cert-manager off) or not, with the gateways' HTTPS certificate Secret (<c>gateway.tls.secretName</c>) or
    /// not (the default), with the xDS and tunnel listeners' certificate Secrets (<c>listenerTls.*.secretName</c>) or not
    /// (the default), with previews on (<c>previews.domain</c>: the session key's Role) or not (the default), and with
    /// xDS token review on (<c>listenerTls.xds.tokenReview</c>: create on tokenreviews) or not (the default).
    /// </summary>
    public static IReadOnlyList<Grant> Grants(HelmChart chart, IReadOnlyList<string> watchNamespaces, bool selfManagedCertificate = true, bool gatewayTlsSecret = false, bool previews = false, bool listenerTlsSecrets = false, bool tokenReview = false)
    {
        var rbac = chart.Template("rbac.yaml");
        var rendered = rbac.Documents.Where(d =>
            (watchNamespaces.Count == 0 ? !d.Under(PerNamespace) : !d.Under(ClusterWide))
            && (selfManagedCertificate || !d.Under(SelfManagedCertificate))
            && (gatewayTlsSecret || !d.Under(GatewayTlsSecret))
            && (previews || !d.Under(Previews))
            && (listenerTlsSecrets || (!d.Under(XdsTlsSecret) && !d.Under(TunnelTlsSecret)))
            && (tokenReview || !d.Under(TokenReview))).ToArray();
        var bound = rendered
            .Where(d => d.Kind is "ClusterRoleBinding" or "RoleBinding" && d.Json["subjects"]!.AsArray().Any(s => (string?)s!["name"] == "xds-control-plane"))
            .Select(d => ((string?)d.Json["roleRef"]!["kind"], (string?)d.Json["roleRef"]!["name"]))
            .ToHashSet();
        var grants = new List<Grant>();
        foreach (var role in rendered.Where(d => d.Kind is "ClusterRole" or "Role" && bound.Contains((d.Kind, d.Name))))
        {
            var namespaces = role.Kind == "ClusterRole"
                ? [null]
                : rbac.Action((string?)role.Json["metadata"]!["namespace"]) switch
                {
                    ".Release.Namespace" => new string?[] { ReleaseNamespace },
                    "." when role.Under("range .Values.watchNamespaces") => [.. watchNamespaces],
                    var other => throw new InvalidOperationException($"Role {role.Name}: namespace '{other}' is not one the test knows"),
                };
            foreach (var rule in role.Json["rules"]!.AsArray())
            {
                var names = rule!["resourceNames"]?.AsArray().Select(n => rbac.Action((string?)n)).ToArray() ?? [];
                grants.AddRange(
                    from ns in namespaces
                    from g in rule["apiGroups"]!.AsArray()
                    from r in rule["resources"]!.AsArray()
                    from v in rule["verbs"]!.AsArray()
                    select new Grant(ns, (string)g!, (string)r!, (string)v!, names, role.Name));
            }
        }

        return grants;
    }

    /// <summary>The requests in <paramref name="requests"/> no grant allows.</summary>
    public static IReadOnlyList<RecordedRequest> Refused(IEnumerable<RecordedRequest> requests, IReadOnlyList<Grant> grants) =>
        [.. requests.Where(r => !grants.Any(g => g.Allows(r)))];

    /// <summary>The cluster-wide chart's grants as <c>Kind:group/resource:verb</c> (ClusterRole or Role), without the webhook's.</summary>
    public static string[] ControlLoopPermissions(HelmChart chart) =>
        [.. Grants(chart, [], selfManagedCertificate: false)
            .Select(g => $"{(g.Namespace is null ? "ClusterRole" : "Role")}:{g.Permission}")
            .Distinct()
            .Order(StringComparer.Ordinal)];
}
