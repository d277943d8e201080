using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>The connection budget the open-file limit leaves, and reading that limit as Linux reports it.</summary>
public sealed class ConnectionLimitOptionsTests
{
    [TestCase(20_000L, 18_976)]
    [TestCase(2_049L, 1_025)]
    [TestCase(1_024L, 512)]
    [TestCase(100L, 50)]
    [TestCase(null, int.MaxValue)]
    [TestCase(0L, int.MaxValue)]
    public void ConnectionBudget_IsTheLimitLessTheHeadroom_OrHalfASmallLimit(long? softLimit, int budget) =>
        Assert.That(new ConnectionLimitOptions().ConnectionBudget(softLimit), Is.EqualTo(budget));

    [Test]
    public void Parse_ThisProcesssLimitsFile_GivesTheSoftLimit()
    {
        if (!File.Exists("/proc/self/limits"))
        {
            Prerequisite.Missing("/proc/self/limits is Linux's");
        }

        var lines = File.ReadAllLines("/proc/self/limits");
        var soft = lines.Single(l => l.StartsWith("Max open files", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];

        Assert.That(FileDescriptorLimit.Parse(lines)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited", Is.EqualTo(soft));
    }

    [Test]
    public void Parse_Unlimited_OrNoLine_GivesNoLimit()
    {
        Assert.Multiple(() =>
        {
            Assert.That(FileDescriptorLimit.Parse(["Max open files            unlimited            unlimited            files"]), Is.Null);
            Assert.That(FileDescriptorLimit.Parse(["Limit                     Soft Limit           Hard Limit           Units"]), Is.Null);
        });
    }

    [Test]
    public void Validate_NamesTheKeyOfEachBadValue() =>
        Assert.That(
            new ConnectionLimitOptions { MaxPerPeer = 0, FirstRequestTimeout = TimeSpan.Zero, FileDescriptorHeadroom = 1 }.Validate(),
            Is.EqualTo(new[]
            {
                "Connections:MaxPerPeer must be between 1 and 1000000, got 0.",
                "Connections:FirstRequestTimeout must be between 1 second and 10 minutes, got 00:00:00.",
                "Connections:FileDescriptorHeadroom must be between 64 and 1000000, got 1.",
            }));
}
