using BenchmarkDotNet.Attributes;
using XdsControlPlane.Model;

namespace XdsControlPlane.Translation.Bench;

/// <summary>
/// Full translation (a fresh translator, as at start-up) is the baseline; one incremental change (a warm translator,
/// one RouteGroup edited, the inputs updated with <see cref="RoutingInputs.WithRouteGroup"/>) is measured against it
/// in the same run.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 7)]
public class TranslationBenchmarks
{
    private const int Services = 1000;
    private RoutingInputs _inputs = null!;
    private RoutingTranslator _warm = null!;
    private RouteGroup[] _edits = [];
    private int _turn;

    /// <summary>The RouteGroup counts measured: 100, 1,000 and 10,000, or those in TRANSLATION_BENCH_SIZES (comma-separated; the small scale of <c>dotnet cake --target=Bench</c>).</summary>
    public static IEnumerable<int> Sizes() =>
        Environment.GetEnvironmentVariable("TRANSLATION_BENCH_SIZES") is { Length: > 0 } sizes
            ? sizes.Split(',').Select(n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture))
            : [100, 1000, 10000];

    [ParamsSource(nameof(Sizes))]
    public int RouteGroups { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _inputs = new RoutingInputs([.. ShopGenerator.Inventory(Services), .. Enumerable.Range(0, RouteGroups).Select(i => ShopGenerator.RouteGroup(i, Services, "/api"))]);
        _warm = new RoutingTranslator();
        _warm.Translate(_inputs);
        _edits = [ShopGenerator.RouteGroup(RouteGroups / 2, Services, "/v2"), ShopGenerator.RouteGroup(RouteGroups / 2, Services, "/v3")];
    }

    [Benchmark(Baseline = true, Description = "full translation")]
    public int Full() => Count(new RoutingTranslator().Translate(_inputs));

    [Benchmark(Description = "one RouteGroup changed")]
    public int Incremental()
    {
        // Alternate between two edits so every call is a real change; the inputs are updated the way a source does.
        _inputs = _inputs.WithRouteGroup(_edits[_turn++ % 2]);
        return Count(_warm.Translate(_inputs));
    }

    private static int Count(TranslationResult result) => result.Groups.Values.Sum(g => g.Count);
}
