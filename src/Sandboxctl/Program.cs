using System.Runtime.InteropServices;
using Sandboxctl;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

// SIGTERM (kill, local disconnect, a supervisor) and SIGHUP (the terminal closed) stop a command as Ctrl+C does, so it
// cleans up before the process exits.
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancellation.Cancel();
}

return await SandboxctlCommandLine.RunAsync(args, Console.Out, Console.Error, cancellation.Token).ConfigureAwait(false);
