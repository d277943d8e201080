using System.Runtime.InteropServices;
using Sandboxctl;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    CancelCommand();
};

// SIGTERM (kill, local disconnect, a supervisor) and SIGHUP (the terminal closed) stop a command as Ctrl+C does, so it
// cleans up before the process exits.
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    CancelCommand();
}

// A signal handled on another thread may arrive while the command returns and the source is disposed: the command is
// over then, so there is nothing left to cancel (it crashed the process with exit 134 before).
void CancelCommand()
{
    try
    {
        cancellation.Cancel();
    }
    catch (ObjectDisposedException)
    {
    }
}

return await SandboxctlCommandLine.RunAsync(args, Console.Out, Console.Error, cancellation.Token).ConfigureAwait(false);
