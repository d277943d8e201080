using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Sources;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests.Chart;

/// <summary>
/// The chart's RBAC against what the server really asks of the API server: the fake API server records every request
/// (verb, group, resource, namespace) of a server run through a scenario, and each must be allowed by the roles
/// <c>templates/rbac.yaml</c> renders; each granted verb must be used. LeaderElectionTests holds the cluster-wide
/// roles against two replicas; this class the per-namespace roles of <c>watchNamespaces</c>.
/// </summary>
public sealed class ChartRbacTests
{
    private const string Secret = "a-laptop-secret-of-some-length";
    private static readonly HelmChart Chart = HelmChart.Load();
    private readonly HostLog _log = new();

    [Test]
    public void ControlPlaneRbac_IsLeastPrivilege()
    {
        var grants = ChartRbac.Grants(Chart, [])
            .Select(g => $"{(g.Namespace is null ? "ClusterRole" : "Role")}:{g.Permission}{(g.Names.Count == 0 ? "" : $" {string.Join(",", g.Names)}")}")
            .Order(StringComparer.Ordinal);
        Assert.That(grants, Is.EqualTo(new[]
        {
            "ClusterRole:/events:create",
            "ClusterRole:/services:create", "ClusterRole:/services:delete", "ClusterRole:/services:get", "ClusterRole:/services:list", "ClusterRole:/services:patch", "ClusterRole:/services:watch",
            "ClusterRole:admissionregistration.k8s.io/mutatingwebhookconfigurations:get sandboxctl-injector",
            "ClusterRole:admissionregistration.k8s.io/mutatingwebhookconfigurations:patch sandboxctl-injector",
            "ClusterRole:apps/deployments:create", "ClusterRole:apps/deployments:delete", "ClusterRole:apps/deployments:get", "ClusterRole:apps/deployments:list",
            "ClusterRole:apps/deployments:update", "ClusterRole:apps/deployments:watch",
            "ClusterRole:discovery.k8s.io/endpointslices:list", "ClusterRole:discovery.k8s.io/endpointslices:watch",
            "ClusterRole:sandboxctl.io/localworkloads/status:patch",
            "ClusterRole:sandboxctl.io/localworkloads:get", "ClusterRole:sandboxctl.io/localworkloads:list", "ClusterRole:sandboxctl.io/localworkloads:watch",
            "ClusterRole:sandboxctl.io/previewgrants:list", "ClusterRole:sandboxctl.io/previewgrants:watch",
            "ClusterRole:sandboxctl.io/routegroups/status:patch",
            "ClusterRole:sandboxctl.io/routegroups:list", "ClusterRole:sandboxctl.io/routegroups:watch",
            "ClusterRole:sandboxctl.io/sandboxes/status:patch",
            "ClusterRole:sandboxctl.io/sandboxes:delete", "ClusterRole:sandboxctl.io/sandboxes:get", "ClusterRole:sandboxctl.io/sandboxes:list",
            "ClusterRole:sandboxctl.io/sandboxes:patch", "ClusterRole:sandboxctl.io/sandboxes:watch",
            "Role:/secrets:create",
            "Role:/secrets:get .Values.webhook.secretName", "Role:/secrets:update .Values.webhook.secretName",
            "Role:coordination.k8s.io/leases:create", "Role:coordination.k8s.io/leases:delete", "Role:coordination.k8s.io/leases:get", "Role:coordination.k8s.io/leases:list", "Role:coordination.k8s.io/leases:update",
        }.Select(g => g.Replace(".Values.webhook.secretName", ".Values.webhook.secretName", StringComparison.Ordinal)).Order(StringComparer.Ordinal)));
    }

    [Test]
    public void WithCertManager_TheControlPlaneTouchesNoWebhookSecretAndNoWebhookConfiguration()
    {
        var grants = ChartRbac.Grants(Chart, [], selfManagedCertificate: false);
        Assert.That(grants.Where(g => g.Role != ChartRbac.PreviewSessionRole).Select(g => g.Permission).Where(ChartRbac.WebhookCertificateGrants.Contains), Is.Empty);
    }

    [Test]
    public void GatewayTlsSecret_GrantsWhatTheSecretWatchAsks_ForThatNameOnly()
    {
        var without = ChartRbac.Grants(Chart, []).Select(Described).ToHashSet(StringComparer.Ordinal);
        var added = ChartRbac.Grants(Chart, [], gatewayTlsSecret: true).Select(Described).Where(g => !without.Contains(g)).Order(StringComparer.Ordinal);

        Assert.That(added, Is.EqualTo(GatewayTlsSecretTests.SecretPermissions.Select(p => $"Role:{p} .Values.gateway.tls.secretName")),
            "list and watch of that one Secret, what GatewayTlsSecretTests records the server asking");
    }

    [Test]
    public void ListenerTlsSecrets_GrantWhatTheSecretWatchAsks_ForThoseNamesOnly()
    {
        var without = ChartRbac.Grants(Chart, []).Select(Described).ToHashSet(StringComparer.Ordinal);
        var added = ChartRbac.Grants(Chart, [], listenerTlsSecrets: true).Select(Described).Where(g => !without.Contains(g)).Order(StringComparer.Ordinal);

        Assert.That(added, Is.EqualTo(new[] { ".Values.listenerTls.tunnel.secretName", ".Values.listenerTls.xds.secretName" }
            .SelectMany(name => GatewayTlsSecretTests.SecretPermissions.Select(p => $"Role:{p} {name}")).Order(StringComparer.Ordinal)),
            "list and watch of each listener's one Secret, what ListenerTlsSecretTests records the server asking");
    }

    [Test]
    public void TokenReview_GrantsCreateOnTokenReviews_ClusterWide_OnlyWhenOn()
    {
        var without = ChartRbac.Grants(Chart, []).Select(Described).ToHashSet(StringComparer.Ordinal);
        var added = ChartRbac.Grants(Chart, [], tokenReview: true).Select(Described).Where(g => !without.Contains(g));
        var perNamespace = ChartRbac.Grants(Chart, ["shop"], tokenReview: true).Select(Described);

        Assert.Multiple(() =>
        {
            Assert.That(added, Is.EqualTo(new[] { "ClusterRole:authentication.k8s.io/tokenreviews:create" }), "what NodeTokenReviewTests records the server asking");
            Assert.That(perNamespace, Does.Contain("ClusterRole:authentication.k8s.io/tokenreviews:create"), "TokenReview is cluster-scoped, whatever namespaces are watched");
            Assert.That(without, Has.None.Contains("tokenreviews"), "off by default");
        });
    }

    [Test]
    public void Previews_GrantTheSessionKeysSecret_OnlyWhenADomainTurnsThemOn()
    {
        var without = ChartRbac.Grants(Chart, []).Select(Described).ToHashSet(StringComparer.Ordinal);
        var with = ChartRbac.Grants(Chart, [], previews: true);
        var added = with.Select(Described).Where(g => !without.Contains(g)).Order(StringComparer.Ordinal);

        Assert.Multiple(() =>
        {
            Assert.That(added, Is.EqualTo(new[] { "Role:/secrets:get xds-control-plane-preview-session" }), "read by every replica (create is the webhook's grant already)");
            Assert.That(with.Where(g => g.Role == ChartRbac.PreviewSessionRole).Select(Described).Order(StringComparer.Ordinal),
                Is.EqualTo(new[] { "Role:/secrets:create", "Role:/secrets:get xds-control-plane-preview-session" }), "the leader creates it when absent");
            Assert.That(ChartRbac.Grants(Chart, []).Where(g => g.Role == ChartRbac.PreviewSessionRole), Is.Empty, "no preview domain, no session key, no grant");
        });
    }

    private static string Described(Grant g) =>
        $"{(g.Namespace is null ? "ClusterRole" : "Role")}:{g.Permission}{(g.Names.Count == 0 ? "" : $" {string.Join(",", g.Names)}")}";

    [Test]
    public void EveryRole_IsBoundToTheServiceAccount_InTheNamespaceItGoverns()
    {
        var rbac = Chart.Template("rbac.yaml");
        var roles = rbac.Documents.Where(d => d.Kind is "ClusterRole" or "Role").ToArray();
        var bindings = rbac.Documents.Where(d => d.Kind is "ClusterRoleBinding" or "RoleBinding").ToArray();
        Assert.Multiple(() =>
        {
            foreach (var role in roles)
            {
                var binding = bindings.SingleOrDefault(b => (string?)b.Json["roleRef"]!["name"] == role.Name && (string?)b.Json["roleRef"]!["kind"] == role.Kind
                    && rbac.Action((string?)b.Json["metadata"]!["namespace"]) == rbac.Action((string?)role.Json["metadata"]!["namespace"]));
                Assert.That(binding, Is.Not.Null, $"{role.Kind} {role.Name} is bound");
                Assert.That(binding?.Conditions, Is.EqualTo(role.Conditions), $"{role.Kind} {role.Name}: the binding is rendered with the role");
                var subject = binding?.Json["subjects"]![0]!;
                Assert.That(((string?)subject?["kind"], (string?)subject?["name"], rbac.Action((string?)subject?["namespace"])), Is.EqualTo(("ServiceAccount", "xds-control-plane", "$.Release.Namespace")).Or.EqualTo(("ServiceAccount", "xds-control-plane", ".Release.Namespace")));
            }
        });
    }

    [Test]
    public async Task WatchingOneNamespace_EveryRequestIsAllowedByItsRoles_AndEveryGrantIsUsed()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, Service("cart", selector: false));
        api.Put(FakeApiServer.Services, Service("cart-v2", selector: false));
        api.Put(FakeApiServer.Services, Service("web", selector: true));
        api.Put(FakeApiServer.Deployments, FakeApiServer.DeploymentObject("shop", "web", "web:1"));
        api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject("shop", "cart", 8080));
        api.Put(FakeApiServer.RouteGroups, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "RouteGroup",
            ["metadata"] = new JsonObject { ["name"] = "cart", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routes"] = new JsonArray(new JsonObject { ["service"] = "cart", ["to"] = new JsonArray(new JsonObject { ["service"] = "cart-v2" }) }) },
        });
        api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", "web:2"));
        var expired = Sandbox("expired", "web:3");
        expired["metadata"]!["creationTimestamp"] = "2020-01-01T00:00:00Z";
        expired["spec"]!["ttl"] = "1h";
        api.Put(FakeApiServer.Sandboxes, expired);
        api.Put(FakeApiServer.LocalWorkloads, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "alice", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routingKey"] = "alice", ["service"] = "cart", ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }), ["secretHash"] = LocalWorkload.HashSecret(Secret) },
        });

        // The ACK Lease of a replica that stopped long ago: the running one deletes it.
        api.Put(FakeApiServer.Leases, new JsonObject
        {
            ["apiVersion"] = "coordination.k8s.io/v1",
            ["kind"] = "Lease",
            ["metadata"] = new JsonObject
            {
                ["name"] = "xds-acks-gone",
                ["namespace"] = ChartRbac.ReleaseNamespace,
                ["labels"] = new JsonObject { ["sandboxctl.io/xds-acks"] = "true" },
                ["annotations"] = new JsonObject { ["sandboxctl.io/acks"] = "{}" },
            },
            ["spec"] = new JsonObject { ["holderIdentity"] = "gone", ["leaseDurationSeconds"] = 15, ["renewTime"] = "2020-01-01T00:00:00.000000Z" },
        });

        // Objects of a namespace the server does not watch: it must not ask about them (a Role elsewhere would refuse).
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("billing", "orders"));
        // The webhook's certificate: no Secret yet, so the leader creates it and patches the chart's webhook configuration.
        api.PutMutatingWebhookConfiguration("sandboxctl-injector", "xds-control-plane-webhook", ChartRbac.ReleaseNamespace, "namespace.inject.sandboxctl.io", "pod.inject.sandboxctl.io", "sandboxes.sandboxctl.io");
        // A grant of the Sandbox's previews: the server reads it through an informer of its own (no publication).
        api.Put(FakeApiServer.PreviewGrants, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "PreviewGrant",
            ["metadata"] = new JsonObject { ["name"] = "share-1", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["sandbox"] = "feature-x", ["secretHash"] = PreviewToken.Hash(PreviewToken.Create()), ["expiresAt"] = "2099-01-01T00:00:00Z" },
        });

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using (var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url).With("Kubernetes:Namespaces:0", "shop")
            .With("Webhook:Port", FreePort.Next()).With("Webhook:Secret", "xds-control-plane-webhook-tls").With("Webhook:Configuration", "sandboxctl-injector").With("Webhook:Service", "xds-control-plane-webhook")
            .With("Translation:PreviewDomain", "preview.example.com")
            .StartAsync(cancel.Token))
        {
            await Eventually.WaitAsync(() => host.Services.GetRequiredService<RoutingInputsStore>().Current is not null, "the control plane to read the cluster");
            await using var agent = await TunnelTestAgent.ConnectAsync(host.TunnelPort, TunnelTestAgent.Hello("shop", "alice", "cart", [8080], routingKey: "alice", secret: Secret), new Dictionary<int, int> { [8080] = 1 }, cancellationToken: cancel.Token);
            await Eventually.WaitAsync(
                () => api.Get(FakeApiServer.RouteGroups, "shop", "cart")?["status"] is not null
                    && api.Get(FakeApiServer.Deployments, "shop", "web-feature-x") is not null
                    && api.Get(FakeApiServer.Sandboxes, "shop", "expired") is null
                    && (string?)api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")?["status"]?["phase"] == "Connected"
                    && api.Get(FakeApiServer.Leases, ChartRbac.ReleaseNamespace, "xds-acks-gone") is null
                    && api.Get(FakeApiServer.Secrets, ChartRbac.ReleaseNamespace, "xds-control-plane-webhook-tls") is not null
                    && api.Get(FakeApiServer.Secrets, ChartRbac.ReleaseNamespace, "xds-control-plane-preview-session") is not null
                    && host.Services.GetRequiredService<PreviewGrantStore>().Count == 1
                    && api.WebhookConfigurationPatches.Count > 0,
                "a RouteGroup status, a fork, an expired Sandbox deleted, a laptop connected, a stale ACK Lease deleted, the webhook's certificate and the preview session key written, the grant read");

            // An image and a baseline port change reach the fork; deleting the Sandbox removes it (the controller's delete and finalizer patch).
            var web = Service("web", selector: true);
            web["spec"]!["ports"]![0]!["port"] = 8081;
            api.Put(FakeApiServer.Services, web);
            api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", "web:4", api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")));
            await Eventually.WaitAsync(
                () => (string?)api.Get(FakeApiServer.Deployments, "shop", "web-feature-x")?["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"] == "web:4"
                    && (long?)api.Get(FakeApiServer.Services, "shop", "web-feature-x")?["spec"]?["ports"]?[0]?["port"] == 8081,
                "the fork to follow the new image and port");
            api.Delete(FakeApiServer.Sandboxes, "shop", "feature-x");
            await Eventually.WaitAsync(() => api.Get(FakeApiServer.Sandboxes, "shop", "feature-x") is null && api.Get(FakeApiServer.Deployments, "shop", "web-feature-x") is null, "the Sandbox and its fork to go");

            // Checked before the host stops: what stopping logs is not this test's subject.
            _log.AssertNoUnexpectedWarnings();
        }

        var grants = ChartRbac.Grants(Chart, ["shop"], previews: true);
        var requests = api.RecordedRequests();
        var unused = grants.Where(g => !requests.Any(g.Allows) && !ChartRbac.NotReachedByTheScenario.Contains(g.Permission)).Select(g => $"{g.Permission} in {g.Namespace ?? "the cluster"}");
        Assert.Multiple(() =>
        {
            Assert.That(ChartRbac.Refused(requests, grants).Select(r => r.ToString()), Is.Empty, "requests the per-namespace roles would refuse");
            Assert.That(requests.Where(r => r.Namespace is "billing"), Is.Empty, "nothing asked of an unwatched namespace");
            Assert.That(unused, Is.Empty, "grants the server never needed (or add them to ChartRbac.NotReachedByTheScenario with the reason)");
            Assert.That(grants.Where(g => g.Namespace is null).Select(g => g.Permission), Is.SubsetOf(ChartRbac.ClusterWideWithWatchNamespaces), "cluster-wide: only the webhook's own configuration");
        });
    }

    private static JsonObject Service(string name, bool selector)
    {
        var service = FakeApiServer.ServiceObject("shop", name);
        if (selector)
        {
            service["spec"]!["selector"] = new JsonObject { ["app"] = name };
        }

        return service;
    }

    private static JsonObject Sandbox(string name, string image, JsonObject? stored = null)
    {
        var sandbox = stored?.DeepClone().AsObject() ?? new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "Sandbox",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        };
        sandbox["spec"] = new JsonObject { ["forks"] = new JsonArray(new JsonObject { ["of"] = new JsonObject { ["name"] = "web" }, ["image"] = image }) };
        return sandbox;
    }
}
