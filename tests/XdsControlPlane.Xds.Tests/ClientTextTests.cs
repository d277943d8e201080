namespace XdsControlPlane.Xds.Tests;

/// <summary>Client-supplied text made safe for terminals and plain-text logs.</summary>
public sealed class ClientTextTests
{
    [TestCase("envoy-1", 64, "envoy-1")]
    [TestCase("a\u001b[31m\r\n[12:00:00 INF] forged", 64, "a?[31m??[12:00:00 INF] forged")]
    [TestCase("bidi\u202eevil", 64, "bidi?evil")]
    [TestCase("  padded\t", 64, "padded?")]
    [TestCase("abcdef", 3, "abc…")]
    [TestCase("abc", 3, "abc")]
    [TestCase("😀😀", 2, "😀…")]
    [TestCase(null, 64, "")]
    public void Printable_ReplacesControlCharactersAndCaps(string? text, int max, string expected) =>
        Assert.That(ClientText.Printable(text, max), Is.EqualTo(expected));

    [TestCase("listener a: bad\nlistener b: worse\r\n", "listener a: bad listener b: worse")]
    [TestCase("tab\there\u2028next", "tab here next")]
    [TestCase("esc\u001b]0;title\u0007", "esc?]0;title?")]
    public void OneLine_TurnsLineBreaksIntoSpacesAndOtherControlsIntoQuestionMarks(string text, string expected) =>
        Assert.That(ClientText.OneLine(text, 100), Is.EqualTo(expected));

    [Test]
    public void OneLine_HugeText_IsCutAtTheCap()
    {
        var kept = ClientText.OneLine(new string('e', 5_000_000), ClientText.MaxMessageLength);

        Assert.That(kept, Has.Length.EqualTo(ClientText.MaxMessageLength + 1).And.EndWith("…"));
    }
}
