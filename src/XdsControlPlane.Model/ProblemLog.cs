namespace XdsControlPlane.Model;

/// <summary>
/// Remembers which problems were already reported, so a source logs each problem once while it lasts instead of on
/// every reload, and again if it comes back after being fixed.
/// </summary>
public sealed class ProblemLog
{
    private HashSet<string> _reported = new(StringComparer.Ordinal);

    /// <summary>The problems among <paramref name="current"/> that were not in the previous call.</summary>
    public IReadOnlyList<string> Fresh(IEnumerable<string> current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var now = new HashSet<string>(current, StringComparer.Ordinal);
        var fresh = now.Where(p => !_reported.Contains(p)).Order(StringComparer.Ordinal).ToArray();
        _reported = now;
        return fresh;
    }

    /// <summary>Whether <paramref name="problem"/> was among the problems of the previous <see cref="Fresh"/> call (reported and still lasting).</summary>
    public bool WasReported(string problem) => _reported.Contains(problem);
}
