using System.CommandLine;

namespace Sandboxctl;

/// <summary>
/// <c>sandboxctl completion bash|zsh|pwsh</c>: prints a shell completion script. The script asks sandboxctl itself
/// for candidates through System.CommandLine's <c>[suggest:POSITION]</c> directive, so completions always match the
/// installed version's commands and options, and no other tool (dotnet-suggest) is needed.
/// </summary>
internal static class CompletionCommand
{
    private const string Bash = """
        # sandboxctl completion for bash. Load it with: source <(sandboxctl completion bash)
        _sandboxctl_complete() {
            local IFS=$'\n'
            local candidates
            candidates=$(sandboxctl "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
            COMPREPLY=($(compgen -W "${candidates}" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _sandboxctl_complete sandboxctl

        """;

    private const string Zsh = """
        #compdef sandboxctl
        # sandboxctl completion for zsh. Load it with: source <(sandboxctl completion zsh)
        _sandboxctl() {
            local -a candidates
            candidates=("${(@f)$(sandboxctl "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)}")
            compadd -- "${candidates[@]}"
        }
        compdef _sandboxctl sandboxctl

        """;

    private const string PowerShell = """
        # sandboxctl completion for PowerShell. Load it with: sandboxctl completion pwsh | Out-String | Invoke-Expression
        Register-ArgumentCompleter -Native -CommandName sandboxctl -ScriptBlock {
            param($wordToComplete, $commandAst, $cursorPosition)
            sandboxctl "[suggest:$cursorPosition]" "$commandAst" 2>$null | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
            }
        }

        """;

    /// <summary>
    /// The command; it writes the script straight to the invocation's output (no console styling to set up: a shell
    /// runs it at every start).
    /// </summary>
    public static Command Build()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or pwsh." };
        shell.AcceptOnlyFromAmong("bash", "zsh", "pwsh");
        var command = new Command("completion", "Print a shell completion script (bash, zsh or pwsh).") { shell };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            output.Write(parse.GetValue(shell) switch
            {
                "bash" => Bash,
                "zsh" => Zsh,
                _ => PowerShell,
            });
            output.Flush();
            return ExitCodes.Ok;
        });
        return command;
    }
}
