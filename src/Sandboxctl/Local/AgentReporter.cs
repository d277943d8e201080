using System.Globalization;
using System.Text.Json.Nodes;

namespace Sandboxctl.Local;

/// <summary>How <c>local connect</c> reports: a status line redrawn in place (a terminal), plain lines on changes, or JSON events.</summary>
internal enum ReportStyle
{
    /// <summary>One status line redrawn in place; other messages above it.</summary>
    Redraw,

    /// <summary>Plain lines, a status line only when something changed (at most one every few seconds).</summary>
    Lines,

    /// <summary>One JSON object per line: connected, reconnecting, status, disconnected, warning, error.</summary>
    Json,
}

/// <summary>
/// Where the agent says what happens: connected, reconnecting (attempt, delay, reason), the live status (connected
/// since, heartbeat age, active connections, bytes in/out), disconnected, warnings and errors — in the
/// <see cref="ReportStyle"/> chosen. Safe to call from any thread.
/// </summary>
internal sealed class AgentReporter(CliOutput cli, ReportStyle style, TimeProvider clock)
{
    /// <summary>The least time between two plain status lines.</summary>
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StaleHeartbeat = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private AgentSnapshot? _lastShown;
    private DateTimeOffset _lastShownAt = DateTimeOffset.MinValue;
    private bool _lineDrawn;

    /// <summary>Whether the broker is a manifests-mode one (its LocalWorkloads live in its memory): changes the preview hint.</summary>
    public bool ManifestsMode { get; set; }

    /// <summary>The style for <paramref name="format"/> on <paramref name="cli"/>: JSON for <c>-o json</c>, redrawing only on an ANSI terminal.</summary>
    public static ReportStyle StyleOf(CliOutput cli, OutputFormat format)
    {
        ArgumentNullException.ThrowIfNull(cli);
        return format == OutputFormat.Json ? ReportStyle.Json
            : cli.Console.Profile.Capabilities is { Ansi: true, Interactive: true } ? ReportStyle.Redraw
            : ReportStyle.Lines;
    }

    /// <summary>A stream was welcomed.</summary>
    public void Connected(string workload, AgentSnapshot snapshot, string replica, IEnumerable<(int Port, string Endpoint, string Protocol)> endpoints, IReadOnlyList<PreviewLink> previews, bool again)
    {
        ArgumentNullException.ThrowIfNull(previews);
        var list = endpoints.ToList();
        if (style == ReportStyle.Json)
        {
            Event("connected", new JsonObject
            {
                ["workload"] = workload,
                ["routingKey"] = snapshot.RoutingKey,
                ["replica"] = replica,
                ["reconnected"] = again,
                ["endpoints"] = new JsonArray([.. list.Select(e => (JsonNode)new JsonObject { ["port"] = e.Port, ["endpoint"] = e.Endpoint, ["protocol"] = e.Protocol })]),
                ["previews"] = new JsonArray([.. previews.Select(p => (JsonNode)new JsonObject { ["port"] = p.Port, ["access"] = p.Access, ["url"] = p.Url })]),
            });
            return;
        }

        var lines = new List<string> { $"{(again ? "reconnected" : "connected")}: {workload} on replica {(replica.Length == 0 ? "?" : replica)}, routing key {snapshot.RoutingKey}" };
        lines.AddRange(list.Select(e => $"  Service port {e.Port} ({e.Protocol}) -> this machine, reached at {e.Endpoint}"));
        lines.AddRange(previews.Select(p => p.Url is null
            ? $"  preview of port {p.Port} ({p.Access}): not served, the control plane runs without --preview-domain"
            : $"  preview of port {p.Port} ({p.Access}): {p.Url}"));
        if (!again)
        {
            lines.Add($"  send requests with: x-routing-key: {snapshot.RoutingKey}   (or baggage: routing-key={snapshot.RoutingKey})");
            // A manifests-mode server opens personal previews to no one; a shared one's grant is a file in its directory.
            if (previews.Any(p => p.Url is not null && (ManifestsMode ? p.Access == XdsControlPlane.Model.Preview.Shared : p.Access != XdsControlPlane.Model.Preview.Public)) && workload.Split('/') is [var ns, var name])
            {
                lines.Add(ManifestsMode
                    ? $"  open a preview with a token (on this machine): sandboxctl preview open --local-workload {name} -n {ns} --manifests DIR   (DIR: the server's --manifests directory)"
                    : $"  open a preview with a token: sandboxctl preview open --local-workload {name} -n {ns}");
            }
        }

        Say(lines);
    }

    /// <summary>
    /// The stream was lost (cutting <paramref name="lost"/> tunnelled connections that were open on it,
    /// <paramref name="lostInAll"/> since the agent started); the next attempt is in <paramref name="delay"/>.
    /// </summary>
    public void Reconnecting(int attempt, TimeSpan delay, string reason, long lost, long lostInAll)
    {
        if (style == ReportStyle.Json)
        {
            Event("reconnecting", new JsonObject { ["attempt"] = attempt, ["delaySeconds"] = Math.Round(delay.TotalSeconds, 2), ["reason"] = reason, ["connectionsLost"] = lost, ["connectionsLostInAll"] = lostInAll });
            return;
        }

        var cut = lost > 0 ? $"; {lost} open connection(s) lost, {lostInAll} in all" : "";
        Say([$"reconnecting (attempt {attempt}, next in {delay.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s{cut}): {reason}"]);
    }

    /// <summary>The live numbers; shown as the style says (always redrawn, else only when they changed).</summary>
    public void Status(AgentSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            if (style == ReportStyle.Redraw)
            {
                cli.WriteText($"\r\u001b[K{Line(snapshot)}");
                _lineDrawn = true;
                return;
            }

            var stale = snapshot.HeartbeatAge > StaleHeartbeat;
            var wasStale = _lastShown?.HeartbeatAge > StaleHeartbeat;
            if ((!snapshot.DiffersFrom(_lastShown) && stale == wasStale) || now - _lastShownAt < LineInterval)
            {
                return;
            }

            _lastShown = snapshot;
            _lastShownAt = now;
            if (style == ReportStyle.Json)
            {
                Event("status", new JsonObject
                {
                    ["connected"] = snapshot.ConnectedSince is not null,
                    ["connectedSince"] = snapshot.ConnectedSince?.ToString("O", CultureInfo.InvariantCulture),
                    ["heartbeatAgeSeconds"] = snapshot.HeartbeatAge is { } age ? Math.Round(age.TotalSeconds, 1) : null,
                    ["activeConnections"] = snapshot.ActiveConnections,
                    ["bytesIn"] = snapshot.BytesIn,
                    ["bytesOut"] = snapshot.BytesOut,
                });
            }
            else
            {
                cli.WriteText(Line(snapshot) + "\n");
            }
        }
    }

    /// <summary>The agent stopped (after Ctrl+C, SIGTERM or <c>local disconnect</c>).</summary>
    public void Disconnected(string reason)
    {
        if (style == ReportStyle.Json)
        {
            Event("disconnected", new JsonObject { ["reason"] = reason });
            return;
        }

        Say([$"disconnected: {reason}"]);
    }

    /// <summary>The environment was written (<c>--env-file</c>): where from and which names; values never (they are in the file only).</summary>
    public void Environment(PodEnvironment.BaselineEnvironmentFile written)
    {
        ArgumentNullException.ThrowIfNull(written);
        var names = written.Environment.Variables.Select(v => v.Key).ToList();
        if (style == ReportStyle.Json)
        {
            Event("environment", new JsonObject
            {
                ["file"] = written.Path,
                ["pod"] = written.Pod,
                ["container"] = written.Container,
                ["names"] = new JsonArray([.. names.Select(n => (JsonNode)n)]),
                ["leftOut"] = new JsonArray([.. written.Environment.Withheld.Select(w => (JsonNode)w)]),
            });
            return;
        }

        Say([$"wrote the environment of pod {written.Pod} (container {written.Container}) to {written.Path}: {names.Count} variables"]);
        foreach (var left in written.Environment.Withheld)
        {
            Warning($"--env-file left out {left}");
        }
    }

    /// <summary>Something the user should know that does not stop the agent.</summary>
    public void Warning(string message)
    {
        if (style == ReportStyle.Json)
        {
            Event("warning", new JsonObject { ["message"] = message });
            return;
        }

        lock (_gate)
        {
            EndLine();
            cli.Error.WriteLine($"warning: {message}");
            cli.Error.Flush();
        }
    }

    /// <summary>The agent fails; the CLI prints the error on stderr too, this adds the JSON event.</summary>
    public void Error(string message, string? hint)
    {
        if (style == ReportStyle.Json)
        {
            Event("error", new JsonObject { ["message"] = message, ["hint"] = hint });
            return;
        }

        lock (_gate)
        {
            EndLine();
        }
    }

    /// <summary>The status line: <c>connected since 19:30:02Z (3m12s) · heartbeat 1.2 s ago · 2 connections · in 1.2 MiB · out 34 KiB</c>.</summary>
    internal string Line(AgentSnapshot snapshot)
    {
        var since = snapshot.ConnectedSince is { } at
            ? $"connected since {at.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}Z ({Duration(clock.GetUtcNow() - at)})"
            : "not connected";
        var beat = snapshot.HeartbeatAge is { } age ? $"heartbeat {age.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s ago" : "no heartbeat yet";
        var connections = snapshot.ActiveConnections == 1 ? "1 connection" : $"{snapshot.ActiveConnections} connections";
        return $"{since} · {beat} · {connections} · in {Size(snapshot.BytesIn)} · out {Size(snapshot.BytesOut)}";
    }

    internal static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
    };

    internal static string Duration(TimeSpan span) => span switch
    {
        { TotalMinutes: < 1 } => $"{(int)span.TotalSeconds}s",
        { TotalHours: < 1 } => $"{span.Minutes}m{span.Seconds:00}s",
        _ => $"{(int)span.TotalHours}h{span.Minutes:00}m",
    };

    private void Say(IEnumerable<string> lines)
    {
        lock (_gate)
        {
            EndLine();
            foreach (var line in lines)
            {
                cli.WriteText(line + "\n");
            }

            // A change of state is news: the next plain status line is not held back.
            _lastShown = null;
            _lastShownAt = DateTimeOffset.MinValue;
        }
    }

    private void Event(string name, JsonObject fields)
    {
        var json = new JsonObject { ["event"] = name, ["time"] = clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture) };
        foreach (var (key, value) in fields.ToList())
        {
            fields.Remove(key);
            json[key] = value;
        }

        lock (_gate)
        {
            cli.WriteText(json.ToJsonString() + "\n");
        }
    }

    /// <summary>Ends a redrawn status line so the next message starts on a line of its own.</summary>
    private void EndLine()
    {
        if (_lineDrawn)
        {
            cli.WriteText("\r\u001b[K");
            _lineDrawn = false;
        }
    }
}
