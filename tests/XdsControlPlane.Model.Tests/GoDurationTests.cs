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
    [TestCase("5s\n")]
    [TestCase("9999999999999h")]
    [TestCase("2562048h")]
    [TestCase("99999999999999999999h")]
    [TestCase("1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h")]
    public void TryParse_NotADurationOrBeyondGosLimit_False(string text) => Assert.That(GoDuration.TryParse(text, out _), Is.False);

    [Test]
    public void TryParse_GosLongestDuration_Parsed() =>
        Assert.That(GoDuration.TryParse("2562047h", out var longest) ? longest : default, Is.EqualTo(TimeSpan.FromHours(2562047)));

    [TestCase(0, "0s")]
    [TestCase(0.25, "250ms")]
    [TestCase(90, "1m30s")]
    [TestCase(31_536_000, "8760h")]
    public void Format_ReadsBackTheSame(double seconds, string expected)
    {
        var text = GoDuration.Format(TimeSpan.FromSeconds(seconds));

        Assert.Multiple(() =>
        {
            Assert.That(text, Is.EqualTo(expected));
            Assert.That(GoDuration.TryParse(text, out var back) ? back : default, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
        });
    }

    [TestCase("0s", true)]
    [TestCase("24h", true)]
    [TestCase("24h1ms", false)]
    [TestCase("100000000h", false)]
    public void RouteTimeoutRange_Bounds(string text, bool accepted) =>
        Assert.That(DurationRanges.RouteTimeout.TryParse(text, out _, out _), Is.EqualTo(accepted));
}
