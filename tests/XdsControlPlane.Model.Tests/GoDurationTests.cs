namespace XdsControlPlane.Model.Tests;

public sealed class GoDurationTests
{
    [TestCase("500ms", 0.5)]
    [TestCase("5s", 5)]
    [TestCase("1m30s", 90)]
    [TestCase("1.5h", 5400)]
    [TestCase("1h30m", 5400)]
    [TestCase("0s", 0)]
    public void TryParse_GoDuration_Parsed(string text, double seconds)
    {
        Assert.Multiple(() =>
        {
            Assert.That(GoDuration.TryParse(text, out var duration), Is.True);
            Assert.That(duration, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
        });
    }

    [TestCase("")]
    [TestCase("5")]
    [TestCase("5 s")]
    [TestCase("-1s")]
    [TestCase("1d")]
    [TestCase("1h 30m")]
    [TestCase("s")]
    [TestCase("5 seconds")]
    public void TryParse_NotADuration_False(string text) => Assert.That(GoDuration.TryParse(text, out _), Is.False);
}
