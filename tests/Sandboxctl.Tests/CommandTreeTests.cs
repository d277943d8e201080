using System.CommandLine;

namespace Sandboxctl.Tests;

/// <summary>
/// sandboxctl builds only the command named first on its command line (start-up): that command must read its
/// arguments, print its help and report its errors exactly as in the whole tree, which help and completion use.
/// </summary>
public sealed class CommandTreeTests
{
    private static readonly RootCommand Whole = SandboxctlCommandLine.Build(TextWriter.Null, TextWriter.Null);

    private static IEnumerable<string> Names() => Whole.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name));

    [TestCaseSource(nameof(Names))]
    public async Task Build_NamedCommand_OnlyThatCommand_SameHelpAndErrorsAsTheWholeTree(string name)
    {
        var alone = SandboxctlCommandLine.Build(TextWriter.Null, TextWriter.Null, name);

        var command = Whole.Subcommands.Single(c => c.Name == name || c.Aliases.Contains(name));
        Assert.That(alone.Subcommands.Select(c => c.Name), Is.EqualTo(new[] { command.Name }));
        foreach (var line in new[] { new[] { name, "--help" }, [name, "--no-such-option"], [name, "nothing", "--output", "nonsense"] })
        {
            Assert.That(await InvokeAsync(alone, line), Is.EqualTo(await InvokeAsync(Whole, line)), string.Join(' ', line));
        }
    }

    [TestCase("--help")]
    [TestCase("-o")]
    [TestCase("renderr")]
    [TestCase("")]
    public void Build_FirstArgumentNamesNoCommand_WholeTree(string first)
    {
        var root = SandboxctlCommandLine.Build(TextWriter.Null, TextWriter.Null, first);

        Assert.That(root.Subcommands.Select(c => c.Name), Is.EqualTo(Whole.Subcommands.Select(c => c.Name)));
    }

    [Test]
    public async Task Run_RootHelp_ListsEveryCommand()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await SandboxctlCommandLine.RunAsync(["--help"], stdout, stderr);

        Assert.That(code, Is.Zero);
        Assert.That(stdout.ToString(), Does.Contain("render").And.Contain("routegroup").And.Contain("completion").And.Contain("preview"));
    }

    /// <summary>What parsing <paramref name="args"/> with <paramref name="root"/> says: its errors, or the help it prints.</summary>
    private static async Task<string> InvokeAsync(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            return string.Join('\n', parse.Errors.Select(e => e.Message));
        }

        using var output = new StringWriter();
        await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return output.ToString();
    }
}
