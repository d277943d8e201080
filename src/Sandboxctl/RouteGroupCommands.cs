using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using Spectre.Console;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Model;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl routegroup apply|list|get|delete</c> through the official KubernetesClient. <c>apply --wait</c>
/// waits until the control plane reports the RouteGroup <c>Programmed</c> (the data planes have ACKed it) and
/// prints how to use its routing key.
/// </summary>
internal static class RouteGroupCommands
{
    private const string Plural = "routegroups";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var command = new Command("routegroup", "Create, list, show and delete RouteGroups in the cluster.");
        command.Aliases.Add("rg");

        var file = new Option<FileInfo>("--filename", "-f") { Description = "A YAML file with one or more RouteGroups.", Required = true };
        var wait = new Option<bool>("--wait") { Description = "Wait until the data planes have the routes (Programmed) and print how to use them." };
        var timeout = new Option<TimeSpan>("--timeout") { Description = "How long --wait waits.", DefaultValueFactory = _ => TimeSpan.FromMinutes(2) };
        var apply = new Command("apply", "Create or update the RouteGroups in a file.") { file, wait, timeout };
        apply.SetAction((parse, ct) => ApplyAsync(outputOf(parse), cluster.Connect(parse), parse.GetValue(file)!, parse.GetValue(wait), parse.GetValue(timeout), ct));

        var list = new Command("list", "List RouteGroups with their routing key and conditions.");
        list.Aliases.Add("ls");
        list.SetAction((parse, ct) => ListAsync(outputOf(parse), cluster.Connect(parse), parse.GetValue(output), ct));

        var name = new Argument<string>("name") { Description = "The RouteGroup's name." };
        var get = new Command("get", "Show one RouteGroup (YAML by default).") { name };
        get.SetAction((parse, ct) => GetAsync(outputOf(parse), cluster.Connect(parse), parse.GetValue(name)!, parse.GetValue(output), ct));

        var deleteName = new Argument<string>("name") { Description = "The RouteGroup's name." };
        var delete = new Command("delete", "Delete a RouteGroup; its routes are withdrawn.") { deleteName };
        delete.SetAction((parse, ct) => DeleteAsync(outputOf(parse), cluster.Connect(parse), parse.GetValue(deleteName)!, ct));

        command.Subcommands.Add(apply);
        command.Subcommands.Add(list);
        command.Subcommands.Add(get);
        command.Subcommands.Add(delete);
        return command;
    }

    private static async Task<int> ApplyAsync(CliOutput cli, (IKubernetes Client, string Namespace) target, FileInfo file, bool wait, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new CliException($"{file.FullName} does not exist.", "Pass a YAML file with -f.", ExitCodes.UserError);
        }

        var read = ManifestReader.Read(await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false), file.Name);
        var groups = read.Objects.Select(o => o.Resource).OfType<RouteGroup>().ToArray();
        foreach (var problem in read.Problems)
        {
            cli.Problem(problem.ToString());
        }

        if (read.Problems.Count > 0 || groups.Length == 0)
        {
            throw new CliException(read.Problems.Count > 0 ? $"{file.Name} has {read.Problems.Count} problem(s); nothing was applied." : $"{file.Name} has no RouteGroup.", "Check the file with: sandboxctl render -f " + file.Name, ExitCodes.UserError);
        }

        foreach (var group in groups)
        {
            var ns = group.Metadata.Namespace == ObjectMeta.DefaultNamespace && target.Namespace != ObjectMeta.DefaultNamespace ? target.Namespace : group.Metadata.Namespace;
            var body = ToKubernetes(group, ns);
            var created = await CallAsync(() => Upsert(target.Client, ns, group.Metadata.Name, body, cancellationToken)).ConfigureAwait(false);
            cli.WriteText($"routegroup.sandboxctl.io/{group.Metadata.Name} {(created ? "created" : "configured")}\n");
            if (wait)
            {
                await WaitProgrammedAsync(cli, target.Client, ns, group, timeout, cancellationToken).ConfigureAwait(false);
            }
        }

        return ExitCodes.Ok;
    }

    private static async Task<bool> Upsert(IKubernetes client, string ns, string name, JsonObject body, CancellationToken cancellationToken)
    {
        try
        {
            var current = await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, name, cancellationToken).ConfigureAwait(false);
            body["metadata"]!["resourceVersion"] = JsonNode.Parse(current.GetRawText())!["metadata"]!["resourceVersion"]!.DeepClone();
            await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<JsonElement>(body, CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            await client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonElement>(body, CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>Polls the status until Programmed=True (success), Accepted/ResolvedRefs=False (failure) or the timeout.</summary>
    private static async Task WaitProgrammedAsync(CliOutput cli, IKubernetes client, string ns, RouteGroup applied, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        JsonNode? status = null;
        await cli.Console.Status().StartAsync($"Waiting for {ns}/{applied.Metadata.Name} to be programmed…", async _ =>
        {
            while (clock.Elapsed < timeout)
            {
                var current = JsonNode.Parse((await CallAsync(() => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(
                    CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, ns, Plural, applied.Metadata.Name, cancellationToken)).ConfigureAwait(false)).GetRawText())!;
                var generation = (long?)current["metadata"]?["generation"];
                status = current["status"];
                var conditions = status?["conditions"]?.AsArray() ?? [];
                var fresh = conditions.Where(c => generation is null || (long?)c!["observedGeneration"] == generation).ToArray();
                if (fresh.FirstOrDefault(c => (string?)c!["type"] is "Accepted" or "ResolvedRefs" && (string?)c!["status"] == "False") is { } failed)
                {
                    throw new CliException($"RouteGroup {ns}/{applied.Metadata.Name} is not {((string?)failed["type"] == "Accepted" ? "accepted" : "resolved")}: {(string?)failed["message"]}", "Fix the RouteGroup and apply it again.", ExitCodes.UserError);
                }

                if (fresh.Any(c => (string?)c!["type"] == "Programmed" && (string?)c!["status"] == "True"))
                {
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }

            throw new CliException(
                $"RouteGroup {ns}/{applied.Metadata.Name} was not programmed within {timeout.TotalSeconds:0} s.",
                "Check the control plane (sandboxctl proxies) and the RouteGroup's conditions (sandboxctl routegroup get).",
                ExitCodes.ConnectionError);
        }).ConfigureAwait(false);

        var key = applied.EffectiveRoutingKey;
        var first = applied.Spec.Routes.Count > 0 ? applied.Spec.Routes[0] : null;
        var host = first is null ? "SERVICE" : first.Service.Contains('.', StringComparison.Ordinal) ? first.Service : $"{first.Service}.{ns}";
        cli.WriteText($"RouteGroup {ns}/{applied.Metadata.Name} is programmed. Routing key: {key}\n");
        cli.WriteText($"  curl -H 'x-routing-key: {key}' http://{host}/\n");
        cli.WriteText($"  or propagate it in W3C baggage: baggage: routing-key={key}\n");
    }

    private static async Task<int> ListAsync(CliOutput cli, (IKubernetes Client, string Namespace) target, OutputFormat format, CancellationToken cancellationToken)
    {
        var list = JsonNode.Parse((await CallAsync(() => target.Client.CustomObjects.ListNamespacedCustomObjectAsync<JsonElement>(
            CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, target.Namespace, Plural, cancellationToken: cancellationToken)).ConfigureAwait(false)).GetRawText())!;
        var items = list["items"]?.AsArray() ?? [];
        if (format != OutputFormat.Table)
        {
            cli.Write(items, format);
            return ExitCodes.Ok;
        }

        if (items.Count == 0)
        {
            cli.WriteText($"No RouteGroups in namespace {target.Namespace}.\n");
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("NAME", "KEY", "ACCEPTED", "RESOLVED", "PROGRAMMED");
        foreach (var item in items.OfType<JsonObject>().OrderBy(i => (string?)i["metadata"]!["name"], StringComparer.Ordinal))
        {
            string Condition(string type) => (string?)item["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == type)?["status"] ?? "-";
            var name = (string)item["metadata"]!["name"]!;
            table.AddRow(Markup.Escape(name), Markup.Escape((string?)item["spec"]?["routingKey"] ?? name), Condition("Accepted"), Condition("ResolvedRefs"), Condition("Programmed"));
        }

        cli.Console.Write(table);
        return ExitCodes.Ok;
    }

    private static async Task<int> GetAsync(CliOutput cli, (IKubernetes Client, string Namespace) target, string name, OutputFormat format, CancellationToken cancellationToken)
    {
        var obj = JsonNode.Parse((await CallAsync(() => target.Client.CustomObjects.GetNamespacedCustomObjectAsync<JsonElement>(
            CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, target.Namespace, Plural, name, cancellationToken), $"RouteGroup {target.Namespace}/{name}").ConfigureAwait(false)).GetRawText())!;
        cli.Write(obj, format == OutputFormat.Table ? OutputFormat.Yaml : format);
        return ExitCodes.Ok;
    }

    private static async Task<int> DeleteAsync(CliOutput cli, (IKubernetes Client, string Namespace) target, string name, CancellationToken cancellationToken)
    {
        await CallAsync(() => target.Client.CustomObjects.DeleteNamespacedCustomObjectAsync<JsonElement>(
            CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, target.Namespace, Plural, name, cancellationToken: cancellationToken), $"RouteGroup {target.Namespace}/{name}").ConfigureAwait(false);
        cli.WriteText($"routegroup.sandboxctl.io/{name} deleted\n");
        return ExitCodes.Ok;
    }

    private static JsonObject ToKubernetes(RouteGroup group, string ns)
    {
        var json = JsonSerializer.SerializeToNode(group with { Metadata = group.Metadata with { Namespace = ns }, Status = null }, Json)!.AsObject();
        var metadata = json["metadata"]!.AsObject();
        foreach (var field in new[] { "generation", "resourceVersion" })
        {
            metadata.Remove(field);
        }

        return json;
    }

    /// <summary>Turns API failures into one sentence: 404 names the object, connection failures exit with 2.</summary>
    private static async Task<T> CallAsync<T>(Func<Task<T>> call, string? what = null)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && what is not null)
        {
            throw new CliException($"{what} not found.", "List them with: sandboxctl routegroup list", ExitCodes.UserError);
        }
        catch (HttpOperationException e)
        {
            throw new CliException($"the cluster answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {e.Response.Content}", "Check that the CRDs are installed (kubectl apply -f charts/xds-control-plane/crds/) and your permissions.", ExitCodes.ConnectionError);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the cluster: {e.Message}", "Check --kubeconfig and --context.", ExitCodes.ConnectionError);
        }
    }
}
