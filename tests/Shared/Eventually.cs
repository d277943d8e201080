using System.Diagnostics;

namespace XdsControlPlane.Testing;

/// <summary>
/// Waits for something that happens asynchronously (a publication, a status write, a connection) by polling; fails the
/// test naming what never happened. The one polling helper of the test projects.
/// </summary>
internal static class Eventually
{
    /// <summary>How long a wait lasts unless the caller says otherwise.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after 20 s.</summary>
    public static Task WaitAsync(Func<bool> condition, string what) => WaitAsync(() => Task.FromResult(condition()), what);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after 20 s.</summary>
    public static Task WaitAsync(Func<Task<bool>> condition, string what) => WaitAsync(condition, () => what);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after 20 s naming <paramref name="what"/> (evaluated then, so it can tell what was last seen).</summary>
    public static Task WaitAsync(Func<bool> condition, Func<string> what) => WaitAsync(() => Task.FromResult(condition()), what);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after <paramref name="within"/>.</summary>
    public static Task WaitAsync(Func<bool> condition, string what, TimeSpan within) => WaitAsync(() => Task.FromResult(condition()), () => what, within);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails when <paramref name="cancellationToken"/> fires (the test's own deadline).</summary>
    public static async Task WaitAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            if (cancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(Interval, CancellationToken.None);
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after 20 s (or <paramref name="within"/>) naming <paramref name="what"/>.</summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? within = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > (within ?? Timeout))
            {
                Assert.Fail($"timed out waiting for {what()}");
            }

            await Task.Delay(Interval);
        }
    }
}
