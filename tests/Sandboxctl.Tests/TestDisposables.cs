namespace Sandboxctl.Tests;

/// <summary>What a test started (servers, agents, backends), disposed at tear-down in the reverse order of starting.</summary>
internal sealed class TestDisposables
{
    private readonly List<IAsyncDisposable> _started = [];

    /// <summary>Keeps <paramref name="disposable"/> for <see cref="DisposeAllAsync"/>; returns it.</summary>
    public T Track<T>(T disposable)
        where T : IAsyncDisposable
    {
        _started.Add(disposable);
        return disposable;
    }

    /// <summary>Disposes everything tracked, last started first.</summary>
    public async Task DisposeAllAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_started))
        {
            await disposable.DisposeAsync();
        }

        _started.Clear();
    }
}
