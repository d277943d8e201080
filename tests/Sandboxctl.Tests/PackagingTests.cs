using System.Reflection;
using System.Runtime.InteropServices;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// sandboxctl as users install it: the dotnet tool <c>dotnet pack</c> makes, installed with <c>dotnet tool install</c>,
/// and the self-contained single file <c>dotnet publish -r RID</c> makes; each a real process answering
/// <c>--version</c>. Both reuse the build of this configuration (no rebuild of the references).
/// </summary>
public sealed class PackagingTests
{
    private static readonly TimeSpan DotnetTimeout = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(30);

    private static string InformationalVersion =>
        typeof(SandboxctlCommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

    private static string Configuration =>
        typeof(PackagingTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;

    private static string Project => RepoDirectory.Path("src", "Sandboxctl", "Sandboxctl.csproj");

    /// <summary>The .NET this test runs on, for the tool's launcher (it looks for dotnet in DOTNET_ROOT first).</summary>
    private static string DotnetRoot => Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("sandboxctl-packaging-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task DotnetTool_PackedAndInstalled_AnswersVersion()
    {
        var packages = Path.Combine(_directory, "packages");
        var tools = Path.Combine(_directory, "tools");
        // A package cache of its own: the user's may hold an older build of this same version.
        var environment = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Path.Combine(_directory, "nuget"), ["DOTNET_ROOT"] = DotnetRoot };

        await DotnetAsync(environment, "pack", Project, "-c", Configuration, "--no-build", "-o", packages);
        var version = InformationalVersion.Split('+')[0];
        Assert.That(Path.Combine(packages, $"Sandboxctl.{version}.nupkg"), Does.Exist);
        await DotnetAsync(environment, "tool", "install", "--tool-path", tools, "--add-source", packages, "Sandboxctl", "--version", version);

        var (code, stdout, stderr) = await ChildProcess.RunAsync(Path.Combine(tools, Executable), ["--version"], environment, RunTimeout);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout.Trim(), Is.EqualTo(InformationalVersion));
        });
    }

    [Test]
    [Category("Publish")]
    public async Task SingleFile_PublishedForThisMachine_IsOneExecutableThatAnswersVersion()
    {
        var output = Path.Combine(_directory, "publish");

        await DotnetAsync(
            new Dictionary<string, string?>(),
            "publish", Project, "-c", Configuration, "-r", RuntimeInformation.RuntimeIdentifier, "-p:BuildProjectReferences=false", "-o", output);
        var files = Directory.GetFileSystemEntries(output).Select(Path.GetFileName).ToArray();
        // Without DOTNET_ROOT and with a PATH that has no dotnet: the file carries its runtime.
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            Path.Combine(output, Executable), ["--version"], new Dictionary<string, string?> { ["DOTNET_ROOT"] = null, ["PATH"] = "/nonexistent" }, RunTimeout);

        Assert.Multiple(() =>
        {
            Assert.That(files, Is.EqualTo(new[] { Executable }));
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout.Trim(), Is.EqualTo(InformationalVersion));
        });
    }

    private static string Executable => OperatingSystem.IsWindows() ? "sandboxctl.exe" : "sandboxctl";

    private static async Task DotnetAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var (code, stdout, stderr) = await ChildProcess.RunAsync("dotnet", args, environment, DotnetTimeout);
        Assert.That(code, Is.Zero, $"dotnet {string.Join(' ', args)} failed:\n{stdout}\n{stderr}");
    }
}
