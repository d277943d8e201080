namespace Sandboxctl.PortForward;

/// <summary>Where a port-forward session reports: lines on stdout, problems on stderr, one writer at a time (connections run concurrently).</summary>
internal sealed class PortForwardLog(CliOutput cli)
{
    private readonly Lock _gate = new();

    public CliOutput Cli { get; } = cli;

    public void Info(string line)
    {
        lock (_gate)
        {
            Cli.WriteText(line + "\n");
        }
    }

    public void Problem(string message)
    {
        lock (_gate)
        {
            Cli.Problem(message);
            Cli.Error.Flush();
        }
    }
}
