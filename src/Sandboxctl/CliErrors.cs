namespace Sandboxctl;

/// <summary>Exit codes scripts can trust.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The input was wrong: bad arguments, invalid manifests.</summary>
    public const int UserError = 1;

    /// <summary>The control plane or cluster could not be reached or failed.</summary>
    public const int ConnectionError = 2;
}

/// <summary>A failure reported as one sentence plus a hint, with its exit code; never a stack trace.</summary>
internal sealed class CliException(string message, string? hint, int exitCode) : Exception(message)
{
    public string? Hint { get; } = hint;

    public int ExitCode { get; } = exitCode;
}
