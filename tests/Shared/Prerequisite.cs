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
}
