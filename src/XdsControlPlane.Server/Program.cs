using XdsControlPlane.Server;

var command = ServerCommandLine.Build(async (configuration, cancellation) =>
{
    ServerHost created;
    try
    {
        created = ServerHost.Create(configuration);
    }
    catch (k8s.Exceptions.KubeConfigException e)
    {
        await Console.Error.WriteLineAsync($"error: no usable Kubernetes configuration for --kubernetes: {e.Message}").ConfigureAwait(false);
        return 1;
    }
    catch (InvalidOperationException e) when (BadValue(e))
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
        return 1;
    }
    catch (Exception e) when (ServerHost.OptionsProblems(e) is { Count: > 0 } problems)
    {
        foreach (var failure in problems)
        {
            await Console.Error.WriteLineAsync($"error: {failure}").ConfigureAwait(false);
        }

        return 1;
    }

    await using var host = created;
    try
    {
        await host.RunAsync(cancellation).ConfigureAwait(false);
        if (host.Faulted)
        {
            // The host logged the exception; a supervisor must see the failure and restart the process.
            await Console.Error.WriteLineAsync("error: a component of the server failed (see the log above); exiting").ConfigureAwait(false);
            return 3;
        }

        return 0;
    }
    catch (Exception e) when (ServerHost.OptionsProblems(e) is { Count: > 0 } problems)
    {
        // Settings that parse but cannot work (ValidateOnStart): every problem, one line each.
        foreach (var failure in problems)
        {
            await Console.Error.WriteLineAsync($"error: {failure}").ConfigureAwait(false);
        }

        return 1;
    }
    catch (InvalidOperationException e) when (BadValue(e))
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
        return 1;
    }
    catch (IOException e)
    {
        // Kestrel reports "address already in use" as an IOException: one sentence, no stack trace.
        await Console.Error.WriteLineAsync($"error: cannot listen: {e.Message}").ConfigureAwait(false);
        return 2;
    }
});

return await command.Parse(args).InvokeAsync().ConfigureAwait(false);

// A value in the --config file or the environment that is not of its setting's type (the binder's message names the key).
static bool BadValue(InvalidOperationException e) => e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal);
