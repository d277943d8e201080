using System.Diagnostics;
using System.Text.Json;

namespace Sandboxctl.Local;

/// <summary>What a running agent tells <c>local status</c> and <c>local disconnect</c> about itself (one file per agent).</summary>
internal sealed record AgentState
{
    /// <summary>The agent's process id.</summary>
    public int Pid { get; init; }

    /// <summary>When the agent's process started (UTC), so a pid the system gave to another process since is not taken for the agent; null in files of older versions.</summary>
    public DateTimeOffset? ProcessStart { get; init; }

    /// <summary>The LocalWorkload's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The LocalWorkload's namespace.</summary>
    public string Namespace { get; init; } = "";

    /// <summary>The Service it stands in for.</summary>
    public string Service { get; init; } = "";

    /// <summary><c>kubernetes</c> (the LocalWorkload is in the cluster) or <c>manifests</c>.</summary>
    public string Mode { get; init; } = "";

    /// <summary>How the broker is reached: an address, or <c>port-forward to NAMESPACE/POD</c>.</summary>
    public string Server { get; init; } = "";

    /// <summary>The kubeconfig file and context used (Kubernetes mode), for <c>local disconnect --force</c>.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The kubeconfig context used.</summary>
    public string? Context { get; init; }

    /// <summary>When the agent started.</summary>
    public DateTimeOffset Started { get; init; }

    /// <summary>Since when the current stream is connected; null while reconnecting.</summary>
    public DateTimeOffset? ConnectedSince { get; init; }

    /// <summary>The broker's last answer to a ping.</summary>
    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>The routing key in force.</summary>
    public string RoutingKey { get; init; } = "";

    /// <summary>Tunnelled connections open now.</summary>
    public int ActiveConnections { get; init; }

    /// <summary>Bytes the broker sent to the laptop.</summary>
    public long BytesIn { get; init; }

    /// <summary>Bytes the laptop sent to the broker.</summary>
    public long BytesOut { get; init; }

    /// <summary>
    /// The preview URLs the broker's last Welcome named (port, access, URL or null): in manifests mode the LocalWorkload
    /// lives in the broker's memory, so <c>preview open --manifests DIR --local-workload</c> reads its previews here.
    /// </summary>
    public IReadOnlyList<PreviewLink> Previews { get; init; } = [];

    /// <summary>When the agent last wrote the file.</summary>
    public DateTimeOffset Updated { get; init; }
}

/// <summary>
/// The agents' state files: <c>$XDG_STATE_HOME/sandboxctl/local/</c> (else <c>~/.local/state/sandboxctl/local/</c>),
/// <c>NAMESPACE.NAME.json</c> each, written atomically by the agent and removed when it stops.
/// </summary>
internal sealed class AgentStateStore(string directory)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>How far two readings of one process's start time may differ (the system derives it from the boot time each time).</summary>
    private static readonly TimeSpan StartTolerance = TimeSpan.FromSeconds(1);

    /// <summary>The directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>The store of this user: <c>SANDBOXCTL_STATE_DIR</c> when set, else under <c>XDG_STATE_HOME</c> or <c>~/.local/state</c>.</summary>
    public static AgentStateStore ForUser()
    {
        if (Environment.GetEnvironmentVariable("SANDBOXCTL_STATE_DIR") is { Length: > 0 } explicitDirectory)
        {
            return new AgentStateStore(explicitDirectory);
        }

        var root = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return new AgentStateStore(Path.Combine(root, "sandboxctl", "local"));
    }

    /// <summary>
    /// Whether the agent of <paramref name="state"/> is running: its pid names a live process that started when the
    /// agent did (a pid reused by another process is not the agent; a file without a start time trusts the pid).
    /// </summary>
    public static bool IsRunning(AgentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return ProcessStartOf(state.Pid) is { } started
            && (state.ProcessStart is not { } recorded || (started - recorded).Duration() <= StartTolerance);
    }

    /// <summary>When process <paramref name="pid"/> started (UTC), or null when there is no such process.</summary>
    public static DateTimeOffset? ProcessStartOf(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited ? null : new DateTimeOffset(process.StartTime.ToUniversalTime(), TimeSpan.Zero);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Writes the state of an agent (replacing the file in one rename).</summary>
    public void Write(AgentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathOf(state.Namespace, state.Name);
        var temporary = $"{path}.{state.Pid}.tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(state, Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Removes the state of an agent, if there is one.</summary>
    public void Delete(string ns, string name) => File.Delete(PathOf(ns, name));

    /// <summary>Removes the state of an agent only while it is the one of process <paramref name="pid"/> (another agent may hold the name now).</summary>
    public void DeleteOwn(string ns, string name, int pid)
    {
        var path = PathOf(ns, name);
        try
        {
            if (JsonSerializer.Deserialize<AgentState>(File.ReadAllText(path), Json)?.Pid == pid)
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // Gone already, or not readable: nothing of ours to remove.
        }
    }

    /// <summary>Every agent's state, by name; unreadable files are skipped.</summary>
    public IReadOnlyList<AgentState> ReadAll()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        var states = new List<AgentState>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize<AgentState>(File.ReadAllText(file), Json) is { Name.Length: > 0 } state)
                {
                    states.Add(state);
                }
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                // Being replaced, or not ours.
            }
        }

        return [.. states.OrderBy(s => s.Namespace, StringComparer.Ordinal).ThenBy(s => s.Name, StringComparer.Ordinal)];
    }

    private string PathOf(string ns, string name) => Path.Combine(Directory, $"{ns}.{name}.json");
}
