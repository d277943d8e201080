// Build script: `dotnet tool restore` once, then `dotnet cake [--target=Test] [--configuration=Release]`.
// Targets: Restore, Build, Test (default), Bench, Pack, Publish, Chart, Images, Fuzz, Run; `--target=Help` lists them
// with their arguments. Every target takes --configuration (default Release). Under CI=true, or with the output
// redirected, the tools print plain lines: no MSBuild terminal logger, no colours, no progress bars.

using System.Diagnostics;

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
const string Solution = "XdsControlPlane.sln";
const string ServerProject = "src/XdsControlPlane.Server/XdsControlPlane.Server.csproj";
const string CliProject = "src/Sandboxctl/Sandboxctl.csproj";
const string ChartDirectory = "charts/xds-control-plane";
const string ServerDockerfile = "src/XdsControlPlane.Server/Dockerfile";
const string InitDockerfile = "src/sandboxctl-init/Dockerfile";
var artifacts = MakeAbsolute(Directory("artifacts"));

var plainOutput = string.Equals(EnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
    || Console.IsOutputRedirected;
if (plainOutput)
{
    // Inherited by every process the targets start: MSBuild's live terminal logger off, no ANSI colours, no logo.
    System.Environment.SetEnvironmentVariable("MSBUILDTERMINALLOGGER", "off");
    System.Environment.SetEnvironmentVariable("NO_COLOR", "1");
    System.Environment.SetEnvironmentVariable("DOTNET_NOLOGO", "1");
    System.Environment.SetEnvironmentVariable("npm_config_progress", "false");
}

Setup(context => Say($"configuration {configuration}, {(plainOutput ? "plain output (CI=true or redirected)" : "interactive output")}"));

Task("Help")
    .Description("Lists the targets and their arguments.")
    .Does(() =>
{
    Say("dotnet cake [--target=T] [--configuration=Release|Debug]");
    Say("  Restore   NuGet packages and the Envoy API protos (npm ci in protos/)");
    Say("  Build     the solution");
    Say("  Test      every test (default target); the Docker suite reports itself skipped without a Docker engine");
    Say("  Bench     the benchmarks in bench/ at a small scale; --bench-scale=realistic for the documented runs; --benches=xds,translation,admin,control-loop,tunnel (default all)");
    Say("  Pack      the projects that are packages (sandboxctl as a dotnet tool) -> artifacts/packages");
    Say("  Publish   sandboxctl per RID (--rids=linux-x64,linux-arm64,osx-arm64,win-x64) -> artifacts/sandboxctl/<rid>; the server (self-contained, composite ReadyToRun, linux-x64) -> artifacts/server/linux-x64");
    Say("  Chart     the Helm chart -> artifacts/charts/xds-control-plane-<version>.tgz (helm package + helm lint where helm is installed)");
    Say("  Images    the control-plane and sidecar-init images where a Docker engine answers; --image-prefix (default ghcr.io/example/), --image-tag (default the chart's appVersion)");
    Say("  Fuzz      only the fuzz tests, --fuzz-seconds each (default 600)");
    Say("  Run       the server on loopback with the default ports");
});

Task("Restore")
    .Description("NuGet packages, and the Envoy API protos (npm ci in protos/ + import-closure copy).")
    .Does(() =>
{
    DotNetRestore(Solution);
    DotNetMSBuild("src/XdsControlPlane.Envoy/XdsControlPlane.Envoy.csproj", new DotNetMSBuildSettings()
        .WithTarget("RestoreEnvoyProtos")
        .WithProperty("Configuration", configuration));
});

Task("Build")
    .IsDependentOn("Restore")
    .Does(() =>
{
    DotNetBuild(Solution, new DotNetBuildSettings { Configuration = configuration, NoRestore = true });
});

Task("Test")
    .Description("Every test. The Docker suite (category Docker) reports each test skipped, with the reason, where no Docker engine answers.")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest(Solution, new DotNetTestSettings { Configuration = configuration, NoBuild = true, NoRestore = true });
});

Task("Bench")
    .Description("Runs the benchmarks in bench/ against this build of the server: small by default (minutes), --bench-scale=realistic for the documented runs (an hour or more).")
    .IsDependentOn("Build")
    .Does(() =>
{
    if (!string.Equals(configuration, "Release", StringComparison.OrdinalIgnoreCase))
    {
        throw new CakeException($"Bench measures optimized code: run it with --configuration=Release (got {configuration}).");
    }

    var scale = Argument("bench-scale", "small");
    if (scale is not ("small" or "realistic"))
    {
        throw new CakeException($"--bench-scale must be small or realistic, got '{scale}'.");
    }

    var realistic = scale == "realistic";
    var server = MakeAbsolute(File($"src/XdsControlPlane.Server/bin/{configuration}/net10.0/XdsControlPlane.Server.dll")).FullPath;
    // Each bench with the arguments of its documented run (docs/*-benchmark.md, docs/xds-server.md, docs/server.md) and a small one.
    var benches = new (string Name, string Project, string Small, string Realistic)[]
    {
        ("xds", "bench/XdsControlPlane.Bench", "--streams 100 --repeat 1", "--streams 100,1000,5000 --repeat 3"),
        // Small: 100 RouteGroups only (TRANSLATION_BENCH_SIZES below). BenchmarkDotNet builds its own copy of the project
        // either way (--inProcess would add a job, not replace the class's).
        ("translation", "bench/XdsControlPlane.Translation.Bench", "--filter * --buildTimeout 900", "--filter * --buildTimeout 900"),
        ("admin", "bench/XdsControlPlane.AdminBench", $"--services 100 --concurrency 2 --seconds 5 --server {server}", $"--services 1250 --concurrency 8 --seconds 30 --server {server}"),
        ("control-loop", "bench/XdsControlPlane.ControlLoopBench", $"--quick --services 100 --routegroups 100 --source manifests --server {server}", $"--server {server}"),
        ("tunnel", "bench/XdsControlPlane.TunnelBench", $"--quick --server {server}", $"--server {server}"),
    };
    var selected = Argument("benches", "all").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var unknown = selected.Where(name => name != "all" && benches.All(b => b.Name != name)).ToList();
    if (unknown.Count > 0)
    {
        throw new CakeException($"--benches: unknown bench {string.Join(", ", unknown)}; expected all or a list of {string.Join(", ", benches.Select(b => b.Name))}.");
    }

    foreach (var bench in benches.Where(b => selected.Contains("all") || selected.Contains(b.Name)))
    {
        var arguments = realistic ? bench.Realistic : bench.Small;
        Say($"bench {bench.Name} ({scale}): dotnet run -c {configuration} --project {bench.Project} -- {arguments}");
        var settings = new DotNetRunSettings { Configuration = configuration, NoBuild = true, NoRestore = true };
        if (!realistic)
        {
            settings.EnvironmentVariables["TRANSLATION_BENCH_SIZES"] = "100";
        }

        DotNetRun(bench.Project, new ProcessArgumentBuilder().Append(arguments), settings);
    }
});

Task("Pack")
    .Description("Packs every src/ project that is a package (PackAsTool or IsPackable true: sandboxctl as a dotnet tool) into artifacts/packages.")
    .IsDependentOn("Restore")
    .Does(() =>
{
    var output = artifacts.Combine("packages");
    var packable = GetFiles("src/**/*.csproj")
        .Where(project => System.IO.File.ReadAllText(project.FullPath) is var text
            && (text.Contains("<PackAsTool>true</PackAsTool>") || text.Contains("<IsPackable>true</IsPackable>")))
        .ToList();
    if (packable.All(project => project.GetFilename().FullPath != "Sandboxctl.csproj"))
    {
        throw new CakeException($"{CliProject} no longer declares itself a package (PackAsTool).");
    }

    foreach (var project in packable)
    {
        DotNetPack(project.FullPath, new DotNetPackSettings { Configuration = configuration, NoRestore = true, OutputDirectory = output });
    }

    foreach (var package in GetFiles($"{output}/*.nupkg"))
    {
        Say($"package {package.GetFilename()} ({new System.IO.FileInfo(package.FullPath).Length / 1024} KiB)");
    }
});

Task("Publish")
    .Description("sandboxctl per RID (--rids) into artifacts/sandboxctl/<rid>, and the server (self-contained, composite ReadyToRun, linux-x64) into artifacts/server/linux-x64.")
    .IsDependentOn("Restore")
    .Does(() =>
{
    var rids = Argument("rids", "linux-x64,linux-arm64,osx-arm64,win-x64")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    foreach (var rid in rids)
    {
        var output = artifacts.Combine("sandboxctl").Combine(rid);
        // The project decides what a RID-specific publish is (self-contained single file).
        DotNetPublish(CliProject, new DotNetPublishSettings { Configuration = configuration, Runtime = rid, OutputDirectory = output });
        Say($"sandboxctl {rid}: {Describe(output)}");
    }

    // The same command as the Dockerfile's build stage.
    var server = artifacts.Combine("server").Combine("linux-x64");
    DotNetPublish(ServerProject, new DotNetPublishSettings
    {
        Configuration = configuration,
        Runtime = "linux-x64",
        SelfContained = true,
        PublishReadyToRun = true,
        OutputDirectory = server,
        MSBuildSettings = new DotNetMSBuildSettings().WithProperty("PublishReadyToRunComposite", "true"),
    });
    Say($"server linux-x64 (self-contained, composite ReadyToRun): {Describe(server)}");
});

Task("Chart")
    .Description("Packages charts/xds-control-plane into artifacts/charts/xds-control-plane-<version>.tgz: helm lint + helm package where helm is installed, else a tar.gz with helm's layout (lint skipped).")
    .Does(() =>
{
    var output = artifacts.Combine("charts");
    EnsureDirectoryExists(output);
    var version = ChartField("version");
    var package = output.CombineWithFilePath($"xds-control-plane-{version}.tgz");
    if (Context.Tools.Resolve("helm") is { } helm)
    {
        Run(helm.FullPath, $"lint {ChartDirectory}");
        Run(helm.FullPath, $"package {ChartDirectory} --destination {output.FullPath}");
    }
    else
    {
        // helm package's layout: every file of the chart under one top directory named after the chart.
        var chart = MakeAbsolute(Directory(ChartDirectory));
        var files = GetFiles($"{chart}/**/*").Where(f => !f.FullPath.EndsWith("/.helmignore", StringComparison.Ordinal));
        Tar(chart.GetParent(), package, files, new TarSettings { Compression = TarCompression.GZip, Overwrite = true });
        Say("helm not found on PATH: chart packaged with tar (helm's layout); helm lint skipped");
    }

    Say($"chart {package.FullPath} ({new System.IO.FileInfo(package.FullPath).Length / 1024} KiB)");
});

Task("Images")
    .Description("Builds the control-plane image (src/XdsControlPlane.Server/Dockerfile) and the sidecar-init image (src/sandboxctl-init/Dockerfile) where a Docker engine answers.")
    .Does(() =>
{
    var prefix = Argument("image-prefix", "ghcr.io/example/");
    var tag = Argument("image-tag", ChartField("appVersion"));
    var docker = Context.Tools.Resolve("docker");
    if (docker is null)
    {
        Say("Images skipped: no docker CLI on PATH");
        return;
    }

    if (DockerEngineProblem(docker.FullPath) is { } problem)
    {
        Say($"Images skipped: no Docker engine answers ({problem})");
        return;
    }

    Run(docker.FullPath, $"build --file {ServerDockerfile} --build-arg CONFIGURATION={configuration} --tag {prefix}xds-control-plane:{tag} .");
    if (FileExists(InitDockerfile))
    {
        Run(docker.FullPath, $"build --file {InitDockerfile} --tag {prefix}sandboxctl-init:{tag} {System.IO.Path.GetDirectoryName(InitDockerfile)}");
    }
    else
    {
        Say($"sidecar-init image skipped: {InitDockerfile} does not exist");
    }
});

Task("Fuzz")
    .Description("Runs only the fuzz tests (category Fuzz), for --fuzz-seconds each (default 600) instead of the test suite's 15.")
    .IsDependentOn("Build")
    .Does(() =>
{
    var seconds = Argument("fuzz-seconds", 600);
    DotNetTest(Solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        NoRestore = true,
        Filter = "TestCategory=Fuzz",
        EnvironmentVariables = { ["FUZZ_SECONDS"] = seconds.ToString() },
        Loggers = { "console;verbosity=normal" },
        // The suite's hang timeout (tests/Directory.Build.props, 10 minutes per test) would end a long fuzz run.
        ArgumentCustomization = args => args.Append($"--blame-hang-timeout {seconds + 600}s"),
    });
});

Task("Run")
    .Description("Starts the server on loopback with the default ports.")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetRun(ServerProject, "--loopback",
        new DotNetRunSettings { Configuration = configuration, NoBuild = true, NoRestore = true });
});

RunTarget(target);

// A top-level scalar of Chart.yaml (version, appVersion), quotes removed.
string ChartField(string name)
{
    var line = System.IO.File.ReadLines($"{ChartDirectory}/Chart.yaml").FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))
        ?? throw new CakeException($"{ChartDirectory}/Chart.yaml has no {name}.");
    return line.Substring(name.Length + 1).Trim().Trim('"', '\'');
}

// One line of the script's own output: plain text when the output is plain (Cake's log colours it whenever TERM names
// a colour terminal, even under CI=true), Cake's log otherwise.
void Say(string message)
{
    if (plainOutput)
    {
        Console.WriteLine(message);
    }
    else
    {
        Information(message);
    }
}

// Runs a tool, failing the target on a non-zero exit.
void Run(string tool, string arguments)
{
    Say($"{System.IO.Path.GetFileName(tool)} {arguments}");
    var exit = StartProcess(tool, new ProcessSettings { Arguments = arguments });
    if (exit != 0)
    {
        throw new CakeException($"{System.IO.Path.GetFileName(tool)} {arguments} exited {exit}.");
    }
}

// Null when `docker version` reaches an engine within 15 s, else why not (the CLI can exist without an engine).
string DockerEngineProblem(string docker)
{
    var info = new ProcessStartInfo(docker, "version --format {{.Server.Version}}") { RedirectStandardOutput = true, RedirectStandardError = true };
    using var process = Process.Start(info);
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    if (!process.WaitForExit(15_000))
    {
        process.Kill(entireProcessTree: true);
        return "docker version did not answer within 15 s";
    }

    return process.ExitCode == 0 ? null : stderr.Result.Trim().Split('\n').LastOrDefault() ?? $"docker version exited {process.ExitCode}";
}

// The files of a publish directory and their total size.
string Describe(DirectoryPath directory)
{
    var files = new System.IO.DirectoryInfo(directory.FullPath).GetFiles("*", System.IO.SearchOption.AllDirectories);
    return $"{files.Length} file(s), {files.Sum(f => f.Length) / (1024 * 1024.0):0.0} MiB in {directory.FullPath}";
}
