namespace XdsControlPlane.Testing;

/// <summary>
/// What a test does when this machine lacks something it needs (a client, IPv6, an address): reported as skipped on a
/// developer's machine, but failed when <c>CI=true</c>, so a green CI means every test ran.
/// </summary>
internal static class Prerequisite
{
    /// <summary>Skips the test for <paramref name="why"/>, or fails it under <c>CI=true</c>.</summary>
    public static void Missing(string why)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"{why} (CI=true: a test that cannot run fails rather than skips)");
        }

        Assert.Ignore(why);
    }

    /// <summary>
    /// Whether <paramref name="variable"/> (<c>UPDATE_GOLDEN</c>, <c>UPDATE_CRDS</c>, …) asks a test to rewrite its
    /// expected file instead of comparing (and then report itself skipped). Never under <c>CI=true</c>: there a
    /// rewrite would turn a drift into a skip and CI green.
    /// </summary>
    public static bool RewriteRequested(string variable) =>
        Environment.GetEnvironmentVariable(variable) == "1"
        && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}
