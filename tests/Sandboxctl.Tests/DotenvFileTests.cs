using Sandboxctl.Local.PodEnvironment;

namespace Sandboxctl.Tests;

/// <summary>How values and names are written to an env file: a line feed never ends a line it belongs to.</summary>
public sealed class DotenvFileTests
{
    [TestCase("plain-value_1.2", "plain-value_1.2")]
    [TestCase("value\n", "\"value\\n\"")]
    [TestCase("two\nlines", "\"two\\nlines\"")]
    [TestCase("with space", "'with space'")]
    [TestCase("", "''")]
    public void Quote_KeepsTheValueOnItsLine(string value, string written) =>
        Assert.That(DotenvFile.Quote(value), Is.EqualTo(written));

    [TestCase("NAME", true)]
    [TestCase("_NAME_2", true)]
    [TestCase("NAME\n", false)]
    [TestCase("2NAME", false)]
    public void IsName_TheWholeName(string name, bool valid) =>
        Assert.That(DotenvFile.IsName(name), Is.EqualTo(valid));
}
