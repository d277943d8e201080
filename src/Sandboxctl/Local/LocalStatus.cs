using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using Spectre.Console;

namespace Sandboxctl.Local;

/// <summary>
/// <c>sandboxctl local status</c>: every agent's state file on this machine (process alive or gone, connected since,
/// heartbeat age, connections, bytes) and, for Kubernetes-mode agents whose cluster answers, the LocalWorkload's
/// phase and heartbeat age as the broker wrote them. A table, or JSON with <c>-o json</c>.
/// </summary>
internal sealed class LocalStatus(CliOutput cli, AgentStateStore store, TimeProvider clock)
{
    public async Task<int> RunAsync(OutputFormat format, Func<ClusterIdentity, IKubernetes> cluster, CancellationToken cancellationToken)
    {
        var rows = new List<JsonObject>();
        foreach (var state in store.ReadAll())
        {
            var now = clock.GetUtcNow();
            var running = AgentStateStore.IsRunning(state);
            var row = new JsonObject
            {
                ["name"] = state.Name,
                ["namespace"] = state.Namespace,
                ["service"] = state.Service,
                ["mode"] = state.Mode,
                ["server"] = state.Server,
                ["pid"] = state.Pid,
                ["agent"] = running ? "running" : "gone",
                ["connected"] = running && state.ConnectedSince is not null,
                ["connectedSince"] = state.ConnectedSince?.ToString("O", CultureInfo.InvariantCulture),
                ["heartbeatAgeSeconds"] = state.LastHeartbeat is { } beat ? Math.Round((now - beat).TotalSeconds, 1) : null,
                ["routingKey"] = state.RoutingKey,
                ["activeConnections"] = state.ActiveConnections,
                ["bytesIn"] = state.BytesIn,
                ["bytesOut"] = state.BytesOut,
            };
            if (state.Mode == "kubernetes")
            {
                row["cluster"] = await ClusterStateAsync(state, cluster, cancellationToken).ConfigureAwait(false);
            }

            rows.Add(row);
        }

        if (format != OutputFormat.Table)
        {
            cli.Write(new JsonObject { ["agents"] = new JsonArray([.. rows]) }, format);
            return ExitCodes.Ok;
        }

        if (rows.Count == 0)
        {
            cli.WriteText($"No local-connect agent on this machine (state in {store.Directory}).\n");
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("NAME", "SERVICE", "AGENT", "TUNNEL", "HEARTBEAT", "CONNS", "IN", "OUT", "CLUSTER");
        foreach (var row in rows)
        {
            var connected = (bool)row["connected"]!;
            var age = (double?)row["heartbeatAgeSeconds"];
            table.AddRow(
                Markup.Escape($"{row["namespace"]}/{row["name"]}"),
                Markup.Escape((string)row["service"]!),
                Markup.Escape($"{row["agent"]} (pid {row["pid"]})"),
                Markup.Escape((string)row["agent"]! == "gone" ? "stale: agent gone" : connected ? $"connected, key {row["routingKey"]}" : "reconnecting"),
                age is { } seconds ? $"{seconds.ToString("0", CultureInfo.InvariantCulture)} s ago" : "-",
                ((int)row["activeConnections"]!).ToString(CultureInfo.InvariantCulture),
                AgentReporter.Size((long)row["bytesIn"]!),
                AgentReporter.Size((long)row["bytesOut"]!),
                Markup.Escape(row["cluster"] is JsonObject lw ? $"{lw["phase"]}{(lw["heartbeatAgeSeconds"] is { } a ? $", heartbeat {(double)a:0} s ago" : "")}" : row["mode"]?.ToString() ?? ""));
        }

        cli.Console.Write(table);
        return ExitCodes.Ok;
    }

    private async Task<JsonNode> ClusterStateAsync(AgentState state, Func<ClusterIdentity, IKubernetes> cluster, CancellationToken cancellationToken)
    {
        try
        {
            var registration = new LocalWorkloadRegistration(cluster(new ClusterIdentity(state.Kubeconfig, state.Context)), state.Namespace, state.Name);
            return await registration.StateAsync(clock, cancellationToken).ConfigureAwait(false) is { } found
                ? new JsonObject { ["phase"] = found.Phase, ["heartbeatAgeSeconds"] = found.HeartbeatAge is { } age ? Math.Round(age.TotalSeconds, 1) : null }
                : new JsonObject { ["phase"] = "NotFound" };
        }
        catch (CliException e)
        {
            return new JsonObject { ["phase"] = "Unknown", ["error"] = e.Message };
        }
    }
}
