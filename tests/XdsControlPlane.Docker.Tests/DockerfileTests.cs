using System.Text.RegularExpressions;
using System.Xml.Linq;
using XdsControlPlane.Server;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Docker.Tests;

/// <summary>
/// The control plane's image as src/XdsControlPlane.Server/Dockerfile describes it, checked without building it: what
/// runs (a chiseled base, a non-root user), which ports it documents (the server's own defaults, read from its options)
/// and that the SDK's container publishing (the project's Container* items) builds the same image.
/// </summary>
[TestFixture]
public sealed partial class DockerfileTests
{
    private static readonly string DockerfilePath = RepoDirectory.Path("src", "XdsControlPlane.Server", "Dockerfile");
    private static readonly string ProjectPath = RepoDirectory.Path("src", "XdsControlPlane.Server", "XdsControlPlane.Server.csproj");

    [Test]
    public void RuntimeStage_IsChiseledRuntimeDepsRunAsNonRootUser()
    {
        var image = Dockerfile.Load(DockerfilePath).Final;

        Assert.That(image.BaseImage, Does.StartWith("mcr.microsoft.com/dotnet/runtime-deps:10.0-").And.Contain("chiseled"), "a base without shell, package manager or .NET (the server ships its own)");
        var user = image.Last("USER");
        Assert.That(user, Is.Not.Null, "the image names its user");
        Assert.That(int.TryParse(user, out var uid), Is.True, $"USER {user}: numeric, so Kubernetes' runAsNonRoot can verify it");
        Assert.That(uid, Is.EqualTo(1654), "the chiseled images' app user");
        Assert.That(image.All("HEALTHCHECK"), Is.Empty, "a chiseled image has no shell to run a HEALTHCHECK command");
    }

    [Test]
    public void ExposedPorts_CoverEveryListenersDefaultPort()
    {
        var exposed = ExposedPorts(Dockerfile.Load(DockerfilePath).Final);

        var defaults = ListenerDefaults();
        Assert.That(defaults, Has.Count.GreaterThanOrEqualTo(3), "the xDS, tunnel and admin listeners at least");
        foreach (var (listener, port) in defaults)
        {
            Assert.That(exposed, Does.Contain(port), $"{listener}'s default port {port} is exposed");
        }
    }

    [Test]
    public void BuildStage_PublishesTheServerSelfContainedCompositeReadyToRunAndTheRuntimeStageRunsIt()
    {
        var dockerfile = Dockerfile.Load(DockerfilePath);
        var build = dockerfile.Stages.Single(s => s.Name == "build");

        var publish = build.All("RUN").Single(run => run.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.That(publish, Does.Contain("dotnet publish src/XdsControlPlane.Server "));
        Assert.That(publish, Does.Contain("--self-contained true").And.Contain("-p:PublishReadyToRun=true").And.Contain("-p:PublishReadyToRunComposite=true").And.Contain("-o /app"));
        Assert.That(dockerfile.Final.All("COPY"), Does.Contain("--from=build /app ./"));
        Assert.That(dockerfile.Final.Last("WORKDIR"), Is.EqualTo("/app"));
        Assert.That(dockerfile.Final.Last("ENTRYPOINT"), Is.EqualTo("""["/app/XdsControlPlane.Server"]"""), "the apphost: the image has no dotnet muxer");
    }

    [Test]
    public void BuildStage_CopiesEverythingTheBuildReadsAndTheContextKeepsIt()
    {
        var build = Dockerfile.Load(DockerfilePath).Stages.Single(s => s.Name == "build");
        var copied = build.All("COPY")
            .Where(arguments => !arguments.StartsWith("--from", StringComparison.Ordinal))
            .SelectMany(arguments => arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1])
            .Select(source => source.TrimEnd('/'))
            .ToList();
        var ignored = File.ReadAllLines(RepoDirectory.Path(".dockerignore"))
            .Select(line => line.Trim().TrimEnd('/'))
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .ToHashSet(StringComparer.Ordinal);

        foreach (var source in copied)
        {
            Assert.That(File.Exists(RepoDirectory.Path(source)) || Directory.Exists(RepoDirectory.Path(source)), Is.True, $"COPY {source}: exists");
            Assert.That(ignored, Does.Not.Contain(source), $"COPY {source}: not left out of the context by .dockerignore");
        }

        // Every repository path a shipped project reads ($(RepoRoot)protos/…) is in the build stage.
        var repoInputs = Directory.EnumerateFiles(RepoDirectory.Path("src"), "*.csproj", SearchOption.AllDirectories)
            .SelectMany(project => RepoRootReference().Matches(File.ReadAllText(project)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.That(repoInputs, Is.Not.Empty);
        Assert.That(copied, Is.SupersetOf(repoInputs.Append("src").Append("Directory.Build.props").Append("Directory.Packages.props").Append("global.json")));
    }

    [Test]
    public void ContainerPublishingItems_DescribeTheSameImageAsTheDockerfile()
    {
        var image = Dockerfile.Load(DockerfilePath).Final;
        var project = XDocument.Load(ProjectPath);
        string? Property(string name) => project.Descendants(name).SingleOrDefault()?.Value;
        IEnumerable<XElement> Items(string name) => project.Descendants(name);

        Assert.That(Property("ContainerBaseImage"), Is.EqualTo(image.BaseImage));
        Assert.That(Property("ContainerUser"), Is.EqualTo(image.Last("USER")));
        Assert.That(Items("ContainerPort").Select(p => int.Parse(p.Attribute("Include")!.Value, System.Globalization.CultureInfo.InvariantCulture)),
            Is.EquivalentTo(ExposedPorts(image)));
        Assert.That(Items("ContainerEnvironmentVariable").ToDictionary(e => e.Attribute("Include")!.Value, e => e.Attribute("Value")!.Value),
            Is.EquivalentTo(image.Environment()));
        Assert.That(Items("ContainerDefaultArgs").Select(e => e.Attribute("Include")!.Value),
            Is.EqualTo(System.Text.Json.JsonSerializer.Deserialize<string[]>(image.Last("CMD")!)));
    }

    /// <summary>Every listener's default port, read from the server's options classes (one per listener).</summary>
    internal static IReadOnlyDictionary<string, int> ListenerDefaults() =>
        typeof(ListenerOptions).Assembly.GetTypes()
            .Where(type => type.IsSubclassOf(typeof(ListenerOptions)) && !type.IsAbstract && type.GetConstructor(Type.EmptyTypes) is not null)
            .ToDictionary(type => type.Name, type => ((ListenerOptions)Activator.CreateInstance(type)!).Port);

    private static HashSet<int> ExposedPorts(Dockerfile.Stage image) =>
        image.All("EXPOSE")
            .SelectMany(arguments => arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(port => int.Parse(port.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture))
            .ToHashSet();

    [GeneratedRegex(@"\$\(RepoRoot\)([A-Za-z0-9_.-]+)/")]
    private static partial Regex RepoRootReference();
}
