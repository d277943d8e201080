using System.Text;
using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>local connect --env-file</c> in Kubernetes mode: the environment of a ready pod of the Service, as the kubelet
/// would build it, resolved with the user's credentials against the fake API server (a Secret it answers 403 for is
/// named, not written), in a dotenv file of mode 0600 that reads back to the exact values; values appear nowhere else.
/// </summary>
public sealed partial class LocalConnectKubernetesTests
{
    private const string Password = "s3cr3t pw with 'quotes', \"double\", a \\ and $HOME\nand a second line";

    [Test]
    public async Task Connect_EnvFile_WritesTheBaselinePodsEnvironment()
    {
        using var laptop = Listening(out var port);
        PutBaselinePod();
        await StartHostAsync();
        var file = Path.Combine(_state, "cart.env");

        var agent = Start("--port", $"{port}:8080", "--env-file", file);
        var written = await agent.NextAsync("environment");
        await agent.NextAsync("connected");
        var text = File.ReadAllText(file);
        var env = ReadDotenv(text);
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);

        Assert.Multiple(() =>
        {
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(file), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }

            Assert.That(env, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["FEATURE_FLAGS"] = "a,b",
                ["LOG_LEVEL"] = "info",
                ["CFG_FEATURE_FLAGS"] = "a,b",
                ["CFG_LOG_LEVEL"] = "debug",
                ["PORT"] = "8080",
                ["POD_IP"] = "10.1.2.3",
                ["URL"] = "http://10.1.2.3:8080/$(UNDEFINED)/$(ESCAPED)",
                ["MULTI"] = "line1\nline2",
                ["EMPTY"] = "",
                ["DB_PASSWORD"] = Password,
                ["POD_NAME"] = "cart-1",
                ["POD_NAMESPACE"] = "shop",
                ["NODE"] = "node-a",
                ["SERVICE_ACCOUNT"] = "cart-sa",
                ["TRACK"] = "canary",
                ["MEMORY_MI"] = "256",
                ["CPU_MILLIS"] = "250",
            }));
            Assert.That(text, Does.Contain("# left out: envFrom: you may not read Secret shop/forbidden (403 Forbidden; not fetched)"));
            Assert.That(text, Does.Contain("# left out: API_TOKEN: you may not read Secret shop/forbidden"));
            Assert.That(text, Does.Contain("# left out: bad.name: not a name"));
            Assert.That(text, Does.Not.Contain("MAYBE").And.Not.Contain("PROXY_ONLY"), "an optional reference that is missing is skipped; the first container is taken");
            Assert.That((string?)written["pod"], Is.EqualTo("cart-1"));
            Assert.That((string?)written["container"], Is.EqualTo("cart"));
            Assert.That(written["names"]!.AsArray().Select(n => (string?)n), Does.Contain("DB_PASSWORD"));
            Assert.That(agent.Stdout + agent.Stderr, Does.Not.Contain("s3cr3t"), "values go to the file only");
        });
    }

    [Test]
    public async Task Connect_EnvFileOfAnotherContainer_TakesThatContainersEnvironment()
    {
        using var laptop = Listening(out var port);
        PutBaselinePod();
        await StartHostAsync();
        var file = Path.Combine(_state, "proxy.env");

        var agent = Start("--port", $"{port}:8080", "--env-file", file, "--container", "proxy");
        await agent.NextAsync("connected");
        var env = ReadDotenv(File.ReadAllText(file));
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);

        Assert.That(env, Is.EquivalentTo(new Dictionary<string, string> { ["PROXY_ONLY"] = "yes" }));
    }

    /// <summary>
    /// Service cart selecting pod cart-1 (ready), whose first container's environment uses every kind of source; the
    /// ConfigMap app-config, the Secret db, and a Secret forbidden the user may not read.
    /// </summary>
    private void PutBaselinePod()
    {
        var service = FakeApiServer.ServiceObject("shop", "cart");
        service["spec"]!["selector"] = new JsonObject { ["app"] = "cart" };
        _api.Put(FakeApiServer.Services, service);
        _api.Put(FakeApiServer.ConfigMaps, FakeApiServer.ConfigMapObject("shop", "app-config", new Dictionary<string, string> { ["LOG_LEVEL"] = "debug", ["FEATURE_FLAGS"] = "a,b", ["bad.name"] = "x" }));
        _api.Put(FakeApiServer.Secrets, FakeApiServer.SecretObject("shop", "db", new Dictionary<string, string> { ["password"] = Password }));
        _api.Put(FakeApiServer.Secrets, FakeApiServer.SecretObject("shop", "forbidden", new Dictionary<string, string> { ["token"] = "never-read" }));
        _api.Forbid(FakeApiServer.Secrets, "shop", "forbidden");
        var env = new JsonArray(
            Literal("LOG_LEVEL", "info"),
            Literal("PORT", "8080"),
            From("POD_IP", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "status.podIP" } }),
            Literal("URL", "http://$(POD_IP):$(PORT)/$(UNDEFINED)/$$(ESCAPED)"),
            Literal("MULTI", "line1\nline2"),
            Literal("EMPTY", ""),
            From("DB_PASSWORD", new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "db", ["key"] = "password" } }),
            From("API_TOKEN", new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "forbidden", ["key"] = "token" } }),
            From("MAYBE", new JsonObject { ["configMapKeyRef"] = new JsonObject { ["name"] = "absent", ["key"] = "x", ["optional"] = true } }),
            From("POD_NAME", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.name" } }),
            From("POD_NAMESPACE", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.namespace" } }),
            From("NODE", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "spec.nodeName" } }),
            From("SERVICE_ACCOUNT", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "spec.serviceAccountName" } }),
            From("TRACK", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.labels['track']" } }),
            From("MEMORY_MI", new JsonObject { ["resourceFieldRef"] = new JsonObject { ["resource"] = "limits.memory", ["divisor"] = "1Mi" } }),
            From("CPU_MILLIS", new JsonObject { ["resourceFieldRef"] = new JsonObject { ["resource"] = "requests.cpu", ["divisor"] = "1m" } }));
        var envFrom = new JsonArray(
            new JsonObject { ["configMapRef"] = new JsonObject { ["name"] = "app-config" } },
            new JsonObject { ["secretRef"] = new JsonObject { ["name"] = "forbidden" } },
            new JsonObject { ["configMapRef"] = new JsonObject { ["name"] = "absent", ["optional"] = true } },
            new JsonObject { ["prefix"] = "CFG_", ["configMapRef"] = new JsonObject { ["name"] = "app-config" } });
        _api.Put(FakeApiServer.Pods, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = "cart-1", ["namespace"] = "shop", ["labels"] = new JsonObject { ["app"] = "cart", ["track"] = "canary" } },
            ["spec"] = new JsonObject
            {
                ["nodeName"] = "node-a",
                ["serviceAccountName"] = "cart-sa",
                ["containers"] = new JsonArray(
                    new JsonObject
                    {
                        ["name"] = "cart",
                        ["image"] = "example/cart",
                        ["env"] = env,
                        ["envFrom"] = envFrom,
                        ["resources"] = new JsonObject { ["limits"] = new JsonObject { ["memory"] = "256Mi" }, ["requests"] = new JsonObject { ["cpu"] = "250m" } },
                    },
                    new JsonObject { ["name"] = "proxy", ["image"] = "example/proxy", ["env"] = new JsonArray(Literal("PROXY_ONLY", "yes")) }),
            },
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["podIP"] = "10.1.2.3",
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
            },
        });

        static JsonObject Literal(string name, string value) => new() { ["name"] = name, ["value"] = value };
        static JsonObject From(string name, JsonObject source) => new() { ["name"] = name, ["valueFrom"] = source };
    }

    /// <summary>A dotenv file as the readers read it: bare, single-quoted (literal) and double-quoted (escapes) values; comments skipped.</summary>
    private static Dictionary<string, string> ReadDotenv(string text)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var (name, raw) = (line[..equals], line[(equals + 1)..]);
            env[name] = raw switch
            {
                ['\'', .. var inner, '\''] => inner,
                ['"', .. var inner, '"'] => Unescape(inner),
                _ => raw,
            };
        }

        return env;
    }

    private static string Unescape(string text)
    {
        var value = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            value.Append(text[i] != '\\' ? text[i] : text[++i] switch
            {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                var c => c,
            });
        }

        return value.ToString();
    }
}
