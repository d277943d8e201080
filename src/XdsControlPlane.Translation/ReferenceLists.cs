namespace XdsControlPlane.Translation;

/// <summary>Compares lists by the identity of their items: the translator's test for "these inputs did not change".</summary>
internal static class ReferenceLists
{
    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> hold the same instances in the same order.</summary>
    public static bool Equal<T>(IReadOnlyList<T> a, IReadOnlyList<T> b)
        where T : class
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!ReferenceEquals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }
}
