using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Exceptions;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// kubeconfig discovery as kubectl does it: <c>--kubeconfig</c>, else the files of <c>KUBECONFIG</c> merged (first
/// file that sets a value wins), else <c>~/.kube/config</c>; and the server process reaching the fake API server
/// through the environment variable alone.
/// </summary>
public sealed class KubeconfigTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("kubeconfig-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Load_TwoFilesInTheVariable_FirstDefinitionWinsAndCurrentContextComesFromTheSecond()
    {
        var (first, second) = SplitConfig("http://127.0.0.1:6443");

        var configuration = KubeconfigLoader.Load(null, null, allowInCluster: false, kubeconfigVariable: $"{first}{Path.PathSeparator}{second}");

        Assert.Multiple(() =>
        {
            Assert.That(configuration.CurrentContext, Is.EqualTo("fake"));
            Assert.That(configuration.Host, Is.EqualTo("http://127.0.0.1:6443"), "the first file's cluster 'fake' wins over the second's");
            Assert.That(configuration.Namespace, Is.EqualTo("shop"));
        });
    }

    [Test]
    public void Load_EmptyEntriesAndMissingFilesInTheVariable_AreSkipped()
    {
        var (first, second) = SplitConfig("http://127.0.0.1:6443");
        var separator = Path.PathSeparator;

        var configuration = KubeconfigLoader.Load(null, null, allowInCluster: false, kubeconfigVariable: $"{separator}{first}{separator}{separator}{Path.Combine(_directory, "missing")}{separator}{second}{separator}{first}");

        Assert.That(configuration.Host, Is.EqualTo("http://127.0.0.1:6443"));
    }

    [Test]
    public void Load_ExplicitFile_WinsOverTheVariable()
    {
        var (first, second) = SplitConfig("http://127.0.0.1:6443");
        var other = Write("other", Config("http://127.0.0.1:7443", currentContext: "fake"));

        var configuration = KubeconfigLoader.Load(other, null, allowInCluster: false, kubeconfigVariable: $"{first}{Path.PathSeparator}{second}");

        Assert.That(configuration.Host, Is.EqualTo("http://127.0.0.1:7443"));
    }

    [Test]
    public void Load_ContextOption_SelectsItAcrossFiles()
    {
        var first = Write("a", Config("http://127.0.0.1:6443", currentContext: "fake"));
        var second = Write("b", """
            apiVersion: v1
            kind: Config
            clusters:
            - name: staging
              cluster: {server: "http://127.0.0.1:8443"}
            users:
            - name: ops
              user: {token: t}
            contexts:
            - name: staging
              context: {cluster: staging, user: ops, namespace: qa}
            """);

        var configuration = KubeconfigLoader.Load(null, "staging", allowInCluster: false, kubeconfigVariable: $"{first}{Path.PathSeparator}{second}");

        Assert.That((configuration.Host, configuration.Namespace), Is.EqualTo(("http://127.0.0.1:8443", "qa")));
    }

    [Test]
    public void Load_RelativeCertificatePath_ResolvedAgainstTheFileThatNamesIt()
    {
        var nested = Directory.CreateDirectory(Path.Combine(_directory, "nested")).FullName;
        using var key = ECDsa.Create();
        using var ca = new CertificateRequest("CN=test-ca", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(nested, "ca.crt"), ca.ExportCertificatePem());
        var first = Write("a", Config("https://127.0.0.1:6443", currentContext: null));
        var second = Path.Combine(nested, "b");
        File.WriteAllText(second, """
            apiVersion: v1
            kind: Config
            clusters:
            - name: other
              cluster: {server: "https://127.0.0.1:9443", certificate-authority: ca.crt}
            users:
            - name: ops
              user: {token: t}
            contexts:
            - name: other
              context: {cluster: other, user: ops}
            current-context: other
            """);

        var configuration = KubeconfigLoader.Load(null, null, allowInCluster: false, kubeconfigVariable: $"{first}{Path.PathSeparator}{second}");

        Assert.Multiple(() =>
        {
            Assert.That(configuration.Host, Is.EqualTo("https://127.0.0.1:9443"));
            Assert.That(configuration.SslCaCerts.Cast<X509Certificate2>().Select(c => c.Subject), Is.EqualTo(new[] { "CN=test-ca" }), "nested/ca.crt, not ca.crt next to the first file");
        });
    }

    [TestCase("kind: [unclosed\n", "cannot be read")]
    [TestCase("\0\u0001garbage", "cannot be read")]
    public void Load_UnreadableFile_ErrorNamesTheFile(string text, string expected)
    {
        var file = Write("broken", text);

        var error = Assert.Throws<KubeConfigException>(() => KubeconfigLoader.Load(null, null, allowInCluster: false, kubeconfigVariable: file))!;

        Assert.That(error.Message, Does.Contain($"kubeconfig file {file} {expected}"));
    }

    [Test]
    public void Load_EmptyFile_ErrorNamesTheFile()
    {
        var file = Write("empty", "");

        var error = Assert.Throws<KubeConfigException>(() => KubeconfigLoader.Load(file, null, allowInCluster: false, kubeconfigVariable: null))!;

        Assert.That(error.Message, Is.EqualTo($"kubeconfig file {file} cannot be read: the file holds no kubeconfig document"));
    }

    /// <summary>
    /// The file is parsed without the client's <c>KubernetesYaml</c> (whose set-up reflects over every model type): every
    /// field kubectl writes, YAML anchors and keys the model does not know still give the configuration the client's
    /// own reader gives.
    /// </summary>
    [TestCase("tls")]
    [TestCase("basic")]
    [TestCase("exec")]
    public void Load_EveryCommonField_SameConfigurationAsTheClientsOwnReader(string context)
    {
        using var key = ECDsa.Create();
        using var ca = new CertificateRequest("CN=test-ca", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var caData = Convert.ToBase64String(Encoding.ASCII.GetBytes(ca.ExportCertificatePem()));
        var keyData = Convert.ToBase64String(Encoding.ASCII.GetBytes(key.ExportECPrivateKeyPem()));
        var script = Write("credential.sh", """
            #!/bin/sh
            echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"'"$EXEC_TOKEN"'"}}'
            """);
        var file = Write("full", $$"""
            apiVersion: v1
            kind: Config
            preferences: {colors: true}
            clusters:
            - name: secure
              cluster:
                server: https://10.0.0.1:6443
                certificate-authority-data: {{caData}}
                tls-server-name: kubernetes.default
                extensions:
                - name: client.authentication.k8s.io/exec
                  extension: {audience: x}
            - name: plain
              cluster: {server: "http://127.0.0.1:8080", insecure-skip-tls-verify: true, not-a-field: 1}
            users:
            - name: alice
              user: &alice {client-certificate-data: {{caData}}, client-key-data: {{keyData}}, token: abc.def}
            - name: bob
              user: {username: bob, password: "s3cret: yes"}
            - name: carol
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: /bin/sh
                  args: ["{{script}}"]
                  env: [{name: EXEC_TOKEN, value: from-exec}]
                  interactiveMode: Never
            contexts:
            - name: tls
              context: {cluster: secure, user: alice, namespace: shop}
            - name: basic
              context: {cluster: plain, user: bob}
            - name: exec
              context: {cluster: plain, user: carol, namespace: qa}
            current-context: tls
            extensions: []
            """);

        var ours = KubeconfigLoader.Load(file, context, allowInCluster: false, kubeconfigVariable: null);
        var theirs = KubernetesClientConfiguration.BuildConfigFromConfigFile(new FileInfo(file), context);

        Assert.That(Fields(ours), Is.EqualTo(Fields(theirs)));
        Assert.That(Fields(ours)[0], Is.EqualTo(context == "tls" ? "https://10.0.0.1:6443" : "http://127.0.0.1:8080"), "the context's own cluster");
        Assert.That(Fields(ours)[3], Is.EqualTo(context switch { "tls" => "abc.def", "exec" => "from-exec", _ => null }), "the user's token, from the exec plugin's output for 'exec'");
    }

    private static string?[] Fields(KubernetesClientConfiguration c) =>
    [
        c.Host, c.Namespace, c.CurrentContext, c.AccessToken, c.Username, c.Password, c.SkipTlsVerify.ToString(), c.TlsServerName,
        c.ClientCertificateData, c.ClientCertificateKeyData,
        string.Join(",", c.SslCaCerts?.Cast<X509Certificate2>().Select(cert => cert.Subject) ?? []),
    ];

    [Test]
    public void Load_OnlyMissingFilesInTheVariable_ErrorListsThem()
    {
        var error = Assert.Throws<KubeConfigException>(() => KubeconfigLoader.Load(null, null, allowInCluster: false, kubeconfigVariable: $"/no/a{Path.PathSeparator}/no/b"))!;

        Assert.That(error.Message, Is.EqualTo("none of the files in KUBECONFIG exists: /no/a, /no/b"));
    }

    [Test]
    public void Load_UnknownContext_ErrorNamesItAndTheFiles()
    {
        var file = Write("a", Config("http://127.0.0.1:6443", currentContext: "fake"));

        var error = Assert.Throws<KubeConfigException>(() => KubeconfigLoader.Load(null, "prod", allowInCluster: false, kubeconfigVariable: file))!;

        Assert.That(error.Message, Is.EqualTo($"context 'prod' is not defined in {file}"));
    }

    /// <summary>The server as a real process, told nothing but <c>KUBECONFIG</c>: it lists and watches the fake API server and serves its Service.</summary>
    [Test]
    public async Task ServerProcess_KubeconfigFromTheEnvironmentOnly_ServesTheClustersServices()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        var (first, second) = SplitConfig(api.Url.ToString());
        await using var server = await ServerProcess.StartAsync(["--kubernetes"], new Dictionary<string, string>
        {
            ["KUBECONFIG"] = $"{first}{Path.PathSeparator}{second}",
            ["HOME"] = Directory.CreateDirectory(Path.Combine(_directory, "home")).FullName,
            ["POD_NAMESPACE"] = "sandboxctl-system",
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}") };

        await Eventually.WaitAsync(
            async () => (await http.GetAsync(new Uri("/debug/snapshot?group=grpc&resources=false", UriKind.Relative))) is { IsSuccessStatusCode: true } response
                && JsonNode.Parse(await response.Content.ReadAsStringAsync())!["groups"]?["grpc"]?["resources"]?["LDS"]?.AsObject().ContainsKey("cart.shop:8080") == true,
            () => $"the cluster's Service in the server's snapshot; server output:\n{server.Output()}");

        Assert.Multiple(() =>
        {
            Assert.That(api.ListRequests, Has.Some.StartsWith(FakeApiServer.Services), "the server listed Services on the fake API server");
            Assert.That(server.Running, Is.True, server.Output());
        });
    }

    private (string First, string Second) SplitConfig(string server) => (Write("a", Config(server, currentContext: null)), Write("b", FakeApiServer.CurrentContextOnlyYaml));

    private static string Config(string server, string? currentContext) => FakeApiServer.KubeconfigYaml(server, currentContext);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
