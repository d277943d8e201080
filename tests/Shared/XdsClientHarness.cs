using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Testing;

/// <summary>The real proxyless gRPC xDS clients the tests drive; none of them was written here.</summary>
public enum XdsClientKind
{
    /// <summary><c>@grpc/grpc-js-xds</c> 1.14 on Node (tests/node/xds-harness.mjs, pinned by its package-lock.json).</summary>
    GrpcJs,

    /// <summary>gRPC C-core 1.51 through Debian bookworm's <c>python3-grpcio</c> (tests/python/xds_harness.py).</summary>
    GrpcCore,
}

/// <summary>
/// Runs a real xDS client process with its own Echo backends on loopback, driven over stdin/stdout with one JSON
/// object per line (the protocol is the same for every <see cref="XdsClientKind"/>). A client process that dies — an
/// uncaught exception in the client library, for one — fails the next call with its exit code and stderr.
/// </summary>
internal sealed class XdsClientHarness : IAsyncDisposable
{
    /// <summary>Debian's interpreter: python3-grpcio installs into its dist-packages only.</summary>
    public const string DebianPython = "/usr/bin/python3";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly Lazy<string?> GrpcCoreMissing = new(FindGrpcCoreProblem);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private XdsClientHarness(Process process, XdsClientKind kind)
    {
        _process = process;
        Kind = kind;
    }

    /// <summary>Which client this is.</summary>
    public XdsClientKind Kind { get; }

    /// <summary>Backend name → port on 127.0.0.1.</summary>
    public IReadOnlyDictionary<string, int> BackendPorts { get; private set; } = new Dictionary<string, int>();

    /// <summary>Starts <paramref name="kind"/>; marks the test skipped (never passed) when that client is not installed.</summary>
    public static async Task<XdsClientHarness> StartAsync(XdsClientKind kind, int xdsPort, string nodeId, string role, string cluster, params string[] backends)
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
        ProcessStartInfo start;
        if (kind == XdsClientKind.GrpcJs)
        {
            start = new ProcessStartInfo("node", RepoDirectory.Path("tests", "node", "xds-harness.mjs"));

            // grpc-js traces its outlier-detection timer, so a test can tell that the client's own checks ran.
            start.Environment["GRPC_TRACE"] = "outlier_detection";
            start.Environment["GRPC_VERBOSITY"] = "DEBUG";
        }
        else
        {
            if (GrpcCoreMissing.Value is { } problem)
            {
                Prerequisite.Missing($"skipped: the gRPC C-core client is not installed ({problem}); `apt-get install python3-grpcio python3-protobuf`, as .ci/run does");
            }

            start = new ProcessStartInfo(DebianPython, RepoDirectory.Path("tests", "python", "xds_harness.py"));
            start.Environment["PYTHONUNBUFFERED"] = "1";
        }

        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.Environment["GRPC_XDS_BOOTSTRAP_CONFIG"] = bootstrap.ToJsonString();
        start.Environment["HARNESS_BACKENDS"] = string.Join(',', backends);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var harness = new XdsClientHarness(process, kind);
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
    public Task<(Dictionary<string, int> Backends, Dictionary<string, int> Errors)> CallAsync(string target, int count, IReadOnlyDictionary<string, string>? metadata = null, string method = "Say") =>
        RunAsync(new JsonObject { ["cmd"] = "call", ["target"] = target, ["count"] = count }, metadata, method);

    /// <summary>
    /// Calls <paramref name="target"/> one call after another for <paramref name="duration"/>. The result is read by
    /// awaiting the returned task, so the test can change the server's input while the client keeps calling.
    /// </summary>
    public Task<(Dictionary<string, int> Backends, Dictionary<string, int> Errors)> CallForAsync(string target, TimeSpan duration, IReadOnlyDictionary<string, string>? metadata = null, string method = "Say") =>
        RunAsync(new JsonObject { ["cmd"] = "call", ["target"] = target, ["durationMs"] = (int)duration.TotalMilliseconds }, metadata, method);

    /// <summary>What the client wrote on stderr so far (its traces and warnings).</summary>
    public string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
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

    private async Task<(Dictionary<string, int> Backends, Dictionary<string, int> Errors)> RunAsync(JsonObject command, IReadOnlyDictionary<string, string>? metadata, string method)
    {
        command["method"] = method;
        command["metadata"] = JsonSerializer.SerializeToNode(metadata ?? new Dictionary<string, string>());
        try
        {
            await _process.StandardInput.WriteLineAsync(command.ToJsonString());
            await _process.StandardInput.FlushAsync();
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"{Kind} client process is gone ({e.Message}); {Exit()}");
        }

        var results = await ReadEventAsync("results", command["durationMs"] is { } ms ? TimeSpan.FromMilliseconds(ms.GetValue<int>()) + Timeout : Timeout);
        static Dictionary<string, int> Counts(JsonNode? node) => node!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>());
        return (Counts(results["backends"]), Counts(results["errors"]));
    }

    private async Task<JsonNode> ReadEventAsync(string name, TimeSpan? within = null)
    {
        var limit = within ?? Timeout;
        using var timeout = new CancellationTokenSource(limit);
        while (true)
        {
            string? line;
            try
            {
                line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Kind} client sent no '{name}' event within {limit.TotalSeconds} s; stderr:\n{Stderr()}");
            }

            if (line is null)
            {
                throw new InvalidOperationException($"{Kind} client process ended before its '{name}' event; {Exit()}");
            }

            var node = JsonNode.Parse(line)!;
            if ((string?)node["event"] == name)
            {
                return node;
            }
        }
    }

    private string Exit()
    {
        var code = _process.WaitForExit(TimeSpan.FromSeconds(5)) ? $"exit code {_process.ExitCode}" : "still running";
        return $"{code}; stderr:\n{Stderr()}";
    }

    /// <summary>Why the C-core client cannot run here, or null when it can.</summary>
    private static string? FindGrpcCoreProblem()
    {
        if (!File.Exists(DebianPython))
        {
            return $"{DebianPython} not found";
        }

        using var probe = Process.Start(new ProcessStartInfo(DebianPython, ["-c", "import grpc, google.protobuf; print(grpc.__version__)"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        // Both outputs are a line or a short traceback: reading one after the other cannot fill a pipe.
        var error = probe.StandardError.ReadToEnd();
        probe.StandardOutput.ReadToEnd();
        probe.WaitForExit();
        return probe.ExitCode == 0 ? null : error.Trim().Split('\n')[^1];
    }
}
