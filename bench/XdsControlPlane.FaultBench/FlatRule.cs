using System.Globalization;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// How a soak decides that a curve is flat: the slope (<see cref="Slope"/>, Theil–Sen) of the run's second half (by time, so the warm-up
/// is left out) may grow by at most <c>limit</c> per 10 minutes, where <c>limit</c> is the larger of
/// <paramref name="Share"/> of that half's mean and <paramref name="Floor"/>. A falling curve is not a leak: it is
/// "falls", and does not fail the run. Fewer than <see cref="MinimumPoints"/> points in the second half give no verdict.
/// </summary>
/// <param name="Name">The curve, as the report names it.</param>
/// <param name="Unit">Its unit.</param>
/// <param name="Share">The share of the second half's mean the curve may grow by per 10 minutes.</param>
/// <param name="Floor">The growth per 10 minutes allowed however small the mean.</param>
internal sealed record FlatRule(string Name, string Unit, double Share, double Floor)
{
    /// <summary>The fewest points in the second half that a verdict is drawn from.</summary>
    public const int MinimumPoints = 3;

    /// <summary>The rule in general words, for the report.</summary>
    public const string Description = "may grow by at most a share of its second-half mean or a floor, whichever is more, per 10 minutes";

    /// <summary>This rule's share and floor in words, for the report.</summary>
    public string Allowance => string.Create(CultureInfo.InvariantCulture, $"{Share:0.#%} of the mean or {Floor:0.#} {Unit}");

    /// <summary>The verdict on <paramref name="points"/> (minutes into the run, value) of a run <paramref name="endMinutes"/> long.</summary>
    public FlatVerdict Judge(IEnumerable<(double Minutes, double Value)> points, double endMinutes)
    {
        ArgumentNullException.ThrowIfNull(points);
        var half = points.Where(p => p.Minutes >= endMinutes / 2).ToList();
        if (half.Count < MinimumPoints)
        {
            return new FlatVerdict(this, half.Count, null, null, $"no verdict: {half.Count} point(s) in the second half");
        }

        var mean = half.Average(p => p.Value);
        var limit = Math.Max(Floor, Share * Math.Abs(mean));
        var perTenMinutes = Slope(half) * 10;
        var verdict = perTenMinutes > limit ? "grows" : perTenMinutes < -limit ? "falls" : "flat";
        return new FlatVerdict(this, half.Count, perTenMinutes, limit, verdict);
    }

    /// <summary>
    /// The Theil–Sen slope of <paramref name="points"/> (value per minute): the median of the slopes between every two
    /// points at different times, so a spike or a burst of threads moves it far less than a least-squares fit; 0 when
    /// they all share one time.
    /// </summary>
    public static double Slope(IReadOnlyList<(double Minutes, double Value)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var slopes = new List<double>();
        for (var i = 0; i < points.Count; i++)
        {
            for (var j = i + 1; j < points.Count; j++)
            {
                var run = points[j].Minutes - points[i].Minutes;
                if (run != 0)
                {
                    slopes.Add((points[j].Value - points[i].Value) / run);
                }
            }
        }

        if (slopes.Count == 0)
        {
            return 0;
        }

        slopes.Sort();
        var middle = slopes.Count / 2;
        return slopes.Count % 2 == 1 ? slopes[middle] : (slopes[middle - 1] + slopes[middle]) / 2;
    }
}

/// <summary>A <see cref="FlatRule"/>'s verdict: the points it used, the slope and the limit per 10 minutes, and "flat", "grows", "falls" or why there is none.</summary>
internal sealed record FlatVerdict(FlatRule Rule, int Points, double? PerTenMinutes, double? Limit, string Verdict)
{
    /// <summary>Whether the curve grows past its limit (a leak by the rule).</summary>
    public bool Grows => Verdict == "grows";

    /// <summary>A Markdown table row: the curve, its allowance, its slope and limit per 10 minutes, the points and the verdict.</summary>
    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"| {Rule.Name} ({Rule.Unit}) | {Rule.Allowance} | {(PerTenMinutes is { } s ? s.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) : "")} | {(Limit is { } l ? l.ToString("0.00", CultureInfo.InvariantCulture) : "")} | {Points} | **{Verdict}** |");
}
