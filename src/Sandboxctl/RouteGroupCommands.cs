using System.CommandLine;
using System.Text.Json.Nodes;
using k8s;
using XdsControlPlane.Model;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl routegroup apply|list|get|delete</c> through the official KubernetesClient. <c>apply --wait</c>
/// waits until the control plane reports the RouteGroup <c>Programmed</c> (the data planes have ACKed it) and
/// prints how to use its routing key.
/// </summary>
internal static class RouteGroupCommands
{
    private static readonly CustomObjectKind Kind = new(RouteGroup.KindName, "routegroups", "routegroup", "RouteGroups");

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var command = new Command("routegroup", "Create, list, show and delete RouteGroups in the cluster.");
        command.Aliases.Add("rg");

        var file = new Option<FileInfo>("--filename", "-f") { Description = "A YAML file with one or more RouteGroups.", Required = true };
        var wait = new Option<bool>("--wait") { Description = "Wait until the data planes have the routes (Programmed) and print how to use them." };
        var timeout = CustomObjectClient.TimeoutOption();
        var apply = new Command("apply", "Create or update the RouteGroups in a file.") { file, wait, timeout };
        apply.SetAction((parse, ct) => ApplyAsync(outputOf(parse), cluster.Connect(parse), parse.GetValue(file)!, parse.GetValue(wait), parse.GetValue(timeout), ct));

        var list = CustomObjectCommands.List(Kind, "List RouteGroups with their routing key and conditions.", ["NAME", "KEY", "ACCEPTED", "RESOLVED", "PROGRAMMED"], Row, output, outputOf, cluster);
        var get = CustomObjectCommands.Get(Kind, output, outputOf, cluster);
        var delete = CustomObjectCommands.Delete(Kind, "Delete a RouteGroup; its routes are withdrawn.", outputOf, cluster);

        command.Subcommands.Add(apply);
        command.Subcommands.Add(list);
        command.Subcommands.Add(get);
        command.Subcommands.Add(delete);
        return command;
    }

    private static async Task<int> ApplyAsync(CliOutput cli, (IKubernetes Client, string Namespace) target, FileInfo file, bool wait, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var groups = await ApplyFile.ReadAsync<RouteGroup>(cli, file, RouteGroup.KindName, target.Namespace, check: null, cancellationToken).ConfigureAwait(false);
        var api = Kind.Client(target);
        foreach (var group in groups)
        {
            var ns = CustomObjectClient.NamespaceOf(group.Metadata.Namespace, target.Namespace);
            var (created, _) = await api.UpsertAsync(ns, group.Metadata.Name, CustomObjectClient.Body(group, ns), cancellationToken).ConfigureAwait(false);
            cli.WriteText($"routegroup.sandboxctl.io/{group.Metadata.Name} {(created ? "created" : "configured")}\n");
            if (wait)
            {
                await WaitProgrammedAsync(cli, api, ns, group, timeout, cancellationToken).ConfigureAwait(false);
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>Polls the status until Programmed=True (success), Accepted/ResolvedRefs=False (failure) or the timeout.</summary>
    private static async Task WaitProgrammedAsync(CliOutput cli, CustomObjectClient api, string ns, RouteGroup applied, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await api.WaitAsync(cli, ns, applied.Metadata.Name, "programmed", timeout, current =>
        {
            var generation = (long?)current["metadata"]?["generation"];
            var conditions = current["status"]?["conditions"]?.AsArray() ?? [];
            var fresh = conditions.Where(c => generation is null || (long?)c!["observedGeneration"] == generation).ToArray();
            if (fresh.FirstOrDefault(c => (string?)c!["type"] is "Accepted" or "ResolvedRefs" && (string?)c!["status"] == "False") is { } failed)
            {
                throw new CliException($"RouteGroup {ns}/{applied.Metadata.Name} is not {((string?)failed["type"] == "Accepted" ? "accepted" : "resolved")}: {(string?)failed["message"]}", "Fix the RouteGroup and apply it again.", ExitCodes.UserError);
            }

            return fresh.Any(c => (string?)c!["type"] == "Programmed" && (string?)c!["status"] == "True");
        },
        "Check the control plane (sandboxctl proxies) and the RouteGroup's conditions (sandboxctl routegroup get).",
        cancellationToken).ConfigureAwait(false);

        var first = applied.Spec.Routes.Count > 0 ? applied.Spec.Routes[0] : null;
        var host = first is null ? "SERVICE" : first.Service.Contains('.', StringComparison.Ordinal) ? first.Service : $"{first.Service}.{ns}";
        CustomObjectClient.WriteRoutingKeyUsage(cli, $"RouteGroup {ns}/{applied.Metadata.Name} is programmed.", applied.EffectiveRoutingKey, host);
    }

    private static string[] Row(JsonObject item)
    {
        string Condition(string type) => (string?)item["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == type)?["status"] ?? "-";
        var name = (string)item["metadata"]!["name"]!;
        return [name, (string?)item["spec"]?["routingKey"] ?? name, Condition("Accepted"), Condition("ResolvedRefs"), Condition("Programmed")];
    }
}
