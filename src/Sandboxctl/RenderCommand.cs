using System.CommandLine;
using System.Text.Json.Nodes;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl render -f FILE|DIR</c>: offline, no cluster — translates manifests with the server's translator and
/// prints what each node group would be served (the same document as the server's <c>/debug/snapshot</c>), and
/// every problem with file and field path on stderr (exit code 1 when there is any).
/// </summary>
internal static class RenderCommand
{
    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf)
    {
        var file = new Option<FileSystemInfo>("--filename", "-f")
        {
            Description = "A manifest file or a directory of them (read recursively).",
            Required = true,
        };
        var role = new Option<string?>("--role")
        {
            Description = "Only this node group: gateway, sidecar or grpc (default: all).",
        };
        role.AcceptOnlyFromAmong([.. DataPlaneRoles.All]);
        var command = new Command("render", "Print the Envoy resources the manifests produce, offline.") { file, role };
        command.SetAction(parse =>
        {
            var cli = outputOf(parse);
            var format = parse.GetValue(output);
            var (document, problems) = Render(parse.GetValue(file)!, parse.GetValue(role));
            cli.Write(document, format == OutputFormat.Table ? OutputFormat.Json : format);
            foreach (var problem in problems)
            {
                cli.Problem(problem.ToString());
            }

            return problems.Count == 0 ? ExitCodes.Ok : ExitCodes.UserError;
        });
        return command;
    }

    /// <summary>The render document and every problem (reading, validation, translation).</summary>
    public static (JsonObject Document, IReadOnlyList<ManifestProblem> Problems) Render(FileSystemInfo path, string? role)
    {
        IReadOnlyList<ManifestFile> files = path switch
        {
            DirectoryInfo { Exists: true } directory => new ManifestDirectoryReader(directory.FullName).Read(out _),
            FileInfo { Exists: true } single => [new ManifestFile(single.FullName, ManifestReader.ReadFile(single.FullName, single.Name))],
            _ => throw new CliException($"{path.FullName} does not exist.", "Pass a manifest file or a directory with -f.", ExitCodes.UserError),
        };
        var manifests = new LastGoodManifestSet().Apply(files);
        var translation = new RoutingTranslator().Translate(manifests.Inputs);
        var groups = translation.Groups
            .Where(g => role is null || g.Key == role)
            .Select(g => (g.Key, Snapshot.Create(g.Value), (DateTimeOffset?)null));
        return (SnapshotJson.Document(groups, withResources: true), [.. manifests.Problems, .. manifests.Unreported(translation.Problems)]);
    }
}
