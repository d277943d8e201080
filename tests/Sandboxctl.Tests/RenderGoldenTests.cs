using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl render -f examples/shop</c> as a real process prints, byte for byte, the committed
/// Golden/render-examples-shop.json (made by the build before render's start-up work): a faster start-up never changes
/// what render prints. Set UPDATE_GOLDEN=1 to rewrite it after reviewing a deliberate change of the output.
/// </summary>
public sealed class RenderGoldenTests
{
    [Test]
    public async Task RealProcess_RenderExamplesShop_IsTheGoldenByteForByte()
    {
        var golden = RepoDirectory.Path("tests", "Sandboxctl.Tests", "Golden", "render-examples-shop.json");

        var (code, stdout, stderr) = await CliHarness.RunProcessAsync("render", "-f", RepoDirectory.Path("examples", "shop"));

        Assert.That((code, stderr), Is.EqualTo((0, string.Empty)));
        if (Prerequisite.RewriteRequested("UPDATE_GOLDEN"))
        {
            await File.WriteAllTextAsync(golden, stdout);
            Assert.Ignore($"rewrote {golden}");
        }

        var expected = await File.ReadAllTextAsync(golden);
        Assert.That(stdout, Is.EqualTo(expected), $"render differs from {golden}");
    }
}
