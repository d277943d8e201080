using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sandboxctl;

/// <summary>A kind of <c>sandboxctl.io</c> custom object as the CLI names it.</summary>
/// <param name="Kind">The kind, such as <c>RouteGroup</c>.</param>
/// <param name="Plural">The resource's plural, such as <c>routegroups</c>.</param>
/// <param name="Command">The <c>sandboxctl</c> command, such as <c>routegroup</c>.</param>
/// <param name="Many">The kind in plural for people, such as <c>RouteGroups</c>.</param>
internal sealed record CustomObjectKind(string Kind, string Plural, string Command, string Many)
{
    /// <summary>The client for this kind in the selected cluster.</summary>
    public CustomObjectClient Client((k8s.IKubernetes Client, string Namespace) target) => new(target.Client, Plural, Kind, Command);
}

/// <summary>The <c>list</c>, <c>get</c> and <c>delete</c> subcommands every custom-object command has, kubectl-style.</summary>
internal static class CustomObjectCommands
{
    /// <summary>
    /// <c>list</c> (alias <c>ls</c>): a table of <paramref name="columns"/> with a row per object from
    /// <paramref name="row"/> (escaped here), or the objects as JSON/YAML with <c>-o</c>.
    /// </summary>
    public static Command List(CustomObjectKind kind, string description, string[] columns, Func<JsonObject, string[]> row, Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var list = new Command("list", description);
        list.Aliases.Add("ls");
        list.SetAction(async (parse, ct) =>
        {
            var cli = outputOf(parse);
            var target = cluster.Connect(parse);
            var items = await kind.Client(target).ListAsync(target.Namespace, ct).ConfigureAwait(false);
            var format = parse.GetValue(output);
            if (format != OutputFormat.Table)
            {
                cli.Write(items, format);
            }
            else if (items.Count == 0)
            {
                cli.WriteText($"No {kind.Many} in namespace {target.Namespace}.\n");
            }
            else
            {
                var table = new Table().AddColumns(columns);
                foreach (var item in items.OfType<JsonObject>().OrderBy(i => (string?)i["metadata"]!["name"], StringComparer.Ordinal))
                {
                    table.AddRow([.. row(item).Select(Markup.Escape)]);
                }

                cli.Console.Write(table);
            }

            return ExitCodes.Ok;
        });
        return list;
    }

    /// <summary><c>get NAME</c>: one object, YAML unless <c>-o json</c>; a missing one exits 1.</summary>
    public static Command Get(CustomObjectKind kind, Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var name = new Argument<string>("name") { Description = $"The {kind.Kind}'s name." };
        var get = new Command("get", $"Show one {kind.Kind} (YAML by default).") { name };
        get.SetAction(async (parse, ct) =>
        {
            var cli = outputOf(parse);
            var target = cluster.Connect(parse);
            var obj = await kind.Client(target).GetAsync(target.Namespace, parse.GetValue(name)!, ct).ConfigureAwait(false);
            var format = parse.GetValue(output);
            cli.Write(obj, format == OutputFormat.Table ? OutputFormat.Yaml : format);
            return ExitCodes.Ok;
        });
        return get;
    }

    /// <summary><c>delete NAME</c>: prints <c>KIND.sandboxctl.io/NAME deleted</c>; a missing one exits 1.</summary>
    public static Command Delete(CustomObjectKind kind, string description, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var name = new Argument<string>("name") { Description = $"The {kind.Kind}'s name." };
        var delete = new Command("delete", description) { name };
        delete.SetAction(async (parse, ct) =>
        {
            var cli = outputOf(parse);
            var target = cluster.Connect(parse);
            var objectName = parse.GetValue(name)!;
            await kind.Client(target).DeleteAsync(target.Namespace, objectName, ct).ConfigureAwait(false);
            cli.WriteText($"{kind.Command}.sandboxctl.io/{objectName} deleted\n");
            return ExitCodes.Ok;
        });
        return delete;
    }
}
