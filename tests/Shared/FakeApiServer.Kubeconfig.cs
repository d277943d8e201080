namespace XdsControlPlane.Testing;

/// <summary>kubeconfig files for reaching a server such as the fake API server (context <c>fake</c>, namespace <c>shop</c>).</summary>
internal sealed partial class FakeApiServer
{
    /// <summary>A kubeconfig with cluster, user and context <c>fake</c> for <paramref name="server"/>, and <paramref name="currentContext"/> when given.</summary>
    public static string KubeconfigYaml(string server, string? currentContext = "fake") => $$"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster: {server: "{{server.TrimEnd('/')}}"}
        users:
        - name: dev
          user: {token: not-checked}
        contexts:
        - name: fake
          context: {cluster: fake, user: dev, namespace: shop}
        {{(currentContext is null ? "" : $"current-context: {currentContext}")}}
        """;

    /// <summary>
    /// The second file of a two-file <c>KUBECONFIG</c> after <see cref="KubeconfigYaml"/> without a current context: it sets
    /// <c>current-context: fake</c> and also defines a cluster <c>fake</c> at an unreachable address, which the first
    /// file's definition must win over.
    /// </summary>
    public const string CurrentContextOnlyYaml = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster: {server: "http://127.0.0.1:1"}
        current-context: fake
        """;
}
