using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Testing;

/// <summary>
/// Runs tests/node/xds-harness.mjs: a real <c>@grpc/grpc-js-xds</c> client with its own Echo backends on loopback,
/// driven over stdin/stdout with one JSON object per line.
/// </summary>
internal sealed class NodeHarness : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private NodeHarness(Process process) => _process = process;

    /// <summary>Backend name → port on 127.0.0.1.</summary>
    public IReadOnlyDictionary<string, int> BackendPorts { get; private set; } = new Dictionary<string, int>();

    public static async Task<NodeHarness> StartAsync(int xdsPort, string nodeId, string role, string cluster, params string[] backends)
    {
        var bootstrap = new JsonObject
        {
            ["xds_servers"] = new JsonArray(new JsonObject
            {
                ["server_uri"] = $"127.0.0.1:{xdsPort}",
                ["channel_creds"] = new JsonArray(new JsonObject { ["type"] = "insecure" }),
                ["server_features"] = new JsonArray("xds_v3"),
            }),
            ["node"] = new JsonObject
            {
                ["id"] = nodeId,
                ["cluster"] = cluster,
                ["metadata"] = new JsonObject { ["sandboxctl.io/role"] = role },
                ["locality"] = new JsonObject { ["zone"] = "zone-a" },
            },
        };
        var start = new ProcessStartInfo("node", Path.Combine(RepoRoot(), "tests", "node", "xds-harness.mjs"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["GRPC_XDS_BOOTSTRAP_CONFIG"] = bootstrap.ToJsonString();
        start.Environment["HARNESS_BACKENDS"] = string.Join(',', backends);
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var harness = new NodeHarness(process);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (harness._stderr)
            {
                harness._stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        var ready = await harness.ReadEventAsync("backends");
        harness.BackendPorts = ready["ports"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>());
        return harness;
    }

    /// <summary>Makes <paramref name="count"/> calls to <paramref name="target"/>; returns backend → calls and error → calls.</summary>
    public async Task<(Dictionary<string, int> Backends, Dictionary<string, int> Errors)> CallAsync(string target, int count, IReadOnlyDictionary<string, string>? metadata = null, string method = "Say")
    {
        var command = new JsonObject
        {
            ["cmd"] = "call",
            ["target"] = target,
            ["count"] = count,
            ["method"] = method,
            ["metadata"] = JsonSerializer.SerializeToNode(metadata ?? new Dictionary<string, string>()),
        };
        await _process.StandardInput.WriteLineAsync(command.ToJsonString());
        await _process.StandardInput.FlushAsync();
        var results = await ReadEventAsync("results");
        static Dictionary<string, int> Counts(JsonNode? node) => node!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>());
        return (Counts(results["backends"]), Counts(results["errors"]));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _process.StandardInput.WriteLineAsync("{\"cmd\":\"exit\"}");
            await _process.StandardInput.FlushAsync();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private async Task<JsonNode> ReadEventAsync(string name)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            string? line;
            try
            {
                line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"node harness sent no '{name}' event within {Timeout.TotalSeconds} s; stderr:\n{Stderr()}");
            }

            if (line is null)
            {
                throw new InvalidOperationException($"node harness exited; stderr:\n{Stderr()}");
            }

            var node = JsonNode.Parse(line)!;
            if ((string?)node["event"] == name)
            {
                return node;
            }
        }
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XdsControlPlane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("XdsControlPlane.sln not found above the test directory");
    }
}
