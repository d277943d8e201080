using XdsControlPlane.Server;

var command = ServerCommandLine.Build(async (options, cancellation) =>
{
    await using var host = ServerHost.Create(options);
    try
    {
        await host.RunAsync(cancellation).ConfigureAwait(false);
        return 0;
    }
    catch (IOException e)
    {
        // Kestrel reports "address already in use" as an IOException: one sentence, no stack trace.
        await Console.Error.WriteLineAsync($"error: cannot listen: {e.Message}").ConfigureAwait(false);
        return 2;
    }
});

return await command.Parse(args).InvokeAsync().ConfigureAwait(false);
