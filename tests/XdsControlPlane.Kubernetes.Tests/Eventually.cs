using System.Diagnostics;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>Waits for something the controllers do asynchronously; fails the test naming what never happened.</summary>
internal static class Eventually
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after 20 s.</summary>
    public static Task WaitAsync(Func<bool> condition, string what) => WaitAsync(() => Task.FromResult(condition()), what);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after 20 s.</summary>
    public static Task WaitAsync(Func<Task<bool>> condition, string what) => WaitAsync(condition, () => what);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after 20 s naming <paramref name="what"/> (evaluated then, so it can tell what was last seen).</summary>
    public static Task WaitAsync(Func<bool> condition, Func<string> what) => WaitAsync(() => Task.FromResult(condition()), what);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, or fails after <paramref name="within"/>.</summary>
    public static Task WaitAsync(Func<bool> condition, string what, TimeSpan within) => WaitAsync(() => Task.FromResult(condition()), () => what, within);

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

            await Task.Delay(20);
        }
    }
}
