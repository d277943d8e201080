using System.CommandLine;
using Spectre.Console;

namespace Sandboxctl;

/// <summary>
/// The <c>sandboxctl</c> command line: global options (<c>-o</c>, <c>--verbose</c>, <c>--no-color</c>), the
/// commands, and error handling (one sentence plus a hint on stderr, exit codes from <see cref="ExitCodes"/>).
/// </summary>
public static class SandboxctlCommandLine
{
    /// <summary>Builds the root command writing to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    public static RootCommand Build(TextWriter stdout, TextWriter stderr) => Build(stdout, stderr, invoked: null);

    /// <summary>
    /// Builds the root command with every command, or, when <paramref name="invoked"/> (the first argument) names one
    /// (or one of its aliases), with only that one: a command runs, prints its help and reports its errors alike in
    /// either tree, and building the others cost about a tenth of <c>render</c>'s start-up. The root's own options
    /// come first on the command line only as <c>sandboxctl -o json …</c>, which builds the whole tree.
    /// </summary>
    internal static RootCommand Build(TextWriter stdout, TextWriter stderr, string? invoked)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var output = new Option<OutputFormat>("--output", "-o")
        {
            Description = "Output format: table, json or yaml.",
            DefaultValueFactory = _ => OutputFormat.Table,
            Recursive = true,
        };
        var verbose = new Option<bool>("--verbose") { Description = "Print details of failures.", Recursive = true };
        var noColor = new Option<bool>("--no-color") { Description = "No colors or styles (also when NO_COLOR is set).", Recursive = true };

        CliOutput OutputOf(ParseResult parse)
        {
            var plain = parse.GetValue(noColor) || Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 } || !ReferenceEquals(stdout, Console.Out) || Console.IsOutputRedirected;
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(stdout),
                Ansi = plain ? AnsiSupport.No : AnsiSupport.Detect,
                ColorSystem = plain ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            });
            return new CliOutput(console, stderr, parse.GetValue(verbose));
        }

        var cluster = new ClusterConnection();
        var root = new RootCommand("sandboxctl: request-level sandboxes on a shared Kubernetes cluster (XdsControlPlane).")
        {
            output, verbose, noColor, cluster.Kubeconfig, cluster.Context, cluster.Namespace,
        };
        (string[] Names, Func<Command> Build)[] commands =
        [
            (["render"], () => RenderCommand.Build(output, OutputOf)),
            (["bootstrap"], () => BootstrapCommand.Build(output, OutputOf)),
            (["proxies"], () => ProxiesCommand.Build(output, OutputOf)),
            (["routegroup", "rg"], () => RouteGroupCommands.Build(output, OutputOf, cluster)),
            (["sandbox", "sbx"], () => SandboxCommands.Build(output, OutputOf, cluster)),
            (["port-forward"], () => PortForward.PortForwardCommand.Build(OutputOf, cluster)),
            (["local"], () => Local.LocalCommands.Build(output, OutputOf, cluster)),
            (["preview"], () => Previews.PreviewCommands.Build(output, OutputOf, cluster)),
            (["completion"], CompletionCommand.Build),
        ];
        var only = commands.Where(c => c.Names.Contains(invoked, StringComparer.Ordinal)).ToList();
        foreach (var (_, build) in only is [_] ? only : [.. commands])
        {
            root.Subcommands.Add(build());
        }

        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; failures become one sentence and a hint, never a stack trace.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var root = Build(stdout, stderr, args.FirstOrDefault());
        var parse = root.Parse(args);
        // No termination timeout: Ctrl+C and SIGTERM cancel the token (Program.cs) and every command cleans up before
        // it returns (local connect withdraws its routes and deletes its LocalWorkload, which can take seconds through
        // the API server); System.CommandLine's default would return after 2 s and cut that short.
        var configuration = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            var code = await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
            return parse.Errors.Count > 0 ? ExitCodes.UserError : code;
        }
        catch (CliException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            if (e.Hint is not null)
            {
                await stderr.WriteLineAsync($"hint: {e.Hint}").ConfigureAwait(false);
            }

            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else (an unreadable file, a bug): one sentence, the details only on request.
            await stderr.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            if (parse.GetValue<bool>("--verbose"))
            {
                await stderr.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            }
            else
            {
                await stderr.WriteLineAsync("hint: run with --verbose for details.").ConfigureAwait(false);
            }

            return ExitCodes.UserError;
        }
    }
}
