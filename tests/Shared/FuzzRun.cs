using System.Diagnostics;
using System.Globalization;

namespace XdsControlPlane.Testing;

/// <summary>
/// What every property-based fuzzer (CsCheck, category <c>Fuzz</c>) shares: its time budget (<c>FUZZ_SECONDS</c>), the
/// seed to replay (<c>FUZZ_SEED</c>, which CsCheck prints with every failure), and a per-input watchdog. A synchronous
/// input that hangs cannot be cancelled, so the watchdog ends the test host with the input printed
/// (<see cref="Environment.FailFast(string)"/>): the run fails at once, naming the input, instead of blocking CI until
/// the run's own hang timeout.
/// </summary>
internal static class FuzzRun
{
    /// <summary>
    /// How long one input may run before the watchdog ends the run: <c>FUZZ_INPUT_LIMIT_SECONDS</c>, else 60 s — far
    /// above anything an input takes (milliseconds), even on a loaded machine.
    /// </summary>
    public static readonly TimeSpan InputLimit = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_INPUT_LIMIT_SECONDS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) && limit > 0 ? limit : 60);

    /// <summary>The fuzzing time in seconds: <c>FUZZ_SECONDS</c>, else <paramref name="defaultSeconds"/>.</summary>
    public static int Seconds(int defaultSeconds) =>
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds : defaultSeconds;

    /// <summary>The seed to replay (<c>FUZZ_SEED</c>, as a failure printed it), or null for a fresh random run.</summary>
    public static string? Seed => Environment.GetEnvironmentVariable("FUZZ_SEED") is { Length: > 0 } seed ? seed : null;

    /// <summary>Runs <paramref name="input"/> under the watchdog; <paramref name="describe"/> prints the input if it hangs.</summary>
    public static void Watched(Func<string> describe, Action input)
    {
        using var watch = new InputWatch(describe);
        input();
    }

    /// <summary>Runs <paramref name="input"/> under the watchdog; <paramref name="describe"/> prints the input if it hangs.</summary>
    public static async Task WatchedAsync(Func<string> describe, Func<Task> input)
    {
        using var watch = new InputWatch(describe);
        await input().ConfigureAwait(false);
    }

    /// <summary>One input's watch: a timer that fires once, after <see cref="InputLimit"/>, unless the input ended first.</summary>
    private sealed class InputWatch : IDisposable
    {
        private readonly Timer _timer;

        public InputWatch(Func<string> describe)
        {
            var started = Stopwatch.StartNew();
            _timer = new Timer(_ => Fail(describe, started.Elapsed), null, InputLimit, Timeout.InfiniteTimeSpan);
        }

        public void Dispose() => _timer.Dispose();

        private static void Fail(Func<string> describe, TimeSpan elapsed)
        {
            string input;
            try
            {
                input = describe();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                input = $"(the input could not be printed: {e.Message})";
            }

            var message = string.Create(CultureInfo.InvariantCulture, $"fuzz input hung: still running after {elapsed.TotalSeconds:F0} s (limit {InputLimit.TotalSeconds:F0} s). Input:\n{input}");
            Console.Error.WriteLine(message);
            Console.Error.Flush();
            Environment.FailFast(message);
        }
    }
}
