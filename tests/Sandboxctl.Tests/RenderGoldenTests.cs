using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl render -f examples/shop</c> as a real process prints, byte for byte, the committed
/// Golden/render-examples-shop.json (made by the build before render's start-up work): a faster start-up never changes
/// what render prints. Set UPDATE_GOLDEN=1 to rewrite it after reviewing a deliberate change of the output. And render
/// builds no Protobuf descriptors, most of what it used to cost, and emits no code at run time (docs/sandboxctl.md#start-up).
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

    [Test]
    public async Task RealProcess_RenderExamplesShop_BuildsNoProtobufDescriptors()
    {
        // The test build is not precompiled, so the JIT's list of what it compiled names every Envoy API method that ran:
        // a proto file's descriptors are built by its reflection class's static constructor (FileDescriptor.FromGeneratedCode).
        var compiled = await RenderJitListAsync();

        Assert.Multiple(() =>
        {
            Assert.That(compiled, Has.Some.Contains("Sandboxctl.RenderCommand:"), "the list names what ran");
            Assert.That(compiled, Has.Some.Contains("Envoy.Config.Cluster.V3.Cluster:"), "the list names Envoy API methods that ran");
            Assert.That(compiled.Where(m => m.Contains("Reflection:.cctor", StringComparison.Ordinal) || m.Contains("FromGeneratedCode", StringComparison.Ordinal)), Is.Empty);
        });
    }

    [Test]
    public async Task RealProcess_RenderExamplesShop_EmitsNoCode()
    {
        // sandboxctl runs without dynamic code (DynamicCodeSupport): System.Text.Json reads the model through reflection
        // instead of emitting an accessor per property, and YamlDotNet's compiled regular expression is interpreted. What
        // is left of the JIT's dynamic methods are the runtime's own marshalling stubs.
        var compiled = await RenderJitListAsync();

        Assert.Multiple(() =>
        {
            Assert.That(compiled, Has.Some.Contains("Sandboxctl.RenderCommand:"), "the list names what ran");
            Assert.That(compiled.Where(m => m.Contains("(dynamicClass):", StringComparison.Ordinal) && !m.Contains("(dynamicClass):IL_STUB", StringComparison.Ordinal)), Is.Empty);
            Assert.That(compiled.Where(m => m.Contains("CompiledRegexRunner", StringComparison.Ordinal)), Is.Empty);
        });
    }

    /// <summary>The methods a real <c>render -f examples/shop</c> JIT-compiled, one a line (after checking it succeeded).</summary>
    private static async Task<string[]> RenderJitListAsync()
    {
        var directory = Directory.CreateTempSubdirectory("sandboxctl-render-jit-").FullName;
        try
        {
            var list = Path.Combine(directory, "jit.txt");
            var (code, _, stderr) = await CliHarness.RunProcessAsync(
                new Dictionary<string, string?> { ["DOTNET_JitStdOutFile"] = list, ["DOTNET_JitDisasmSummary"] = "1" },
                "render", "-f", RepoDirectory.Path("examples", "shop"));
            Assert.That((code, stderr), Is.EqualTo((0, string.Empty)));
            return await File.ReadAllLinesAsync(list);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
