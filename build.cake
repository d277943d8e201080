// Build script: `dotnet tool restore` once, then `dotnet cake [--target=Test] [--configuration=Release]`.
// Targets: Restore, Build, Test (default), Fuzz, Run.

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
const string Solution = "XdsControlPlane.sln";

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
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest(Solution, new DotNetTestSettings { Configuration = configuration, NoBuild = true, NoRestore = true });
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
    });
});

Task("Run")
    .Description("Starts the server on loopback with the default ports.")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetRun("src/XdsControlPlane.Server/XdsControlPlane.Server.csproj", "--loopback",
        new DotNetRunSettings { Configuration = configuration, NoBuild = true, NoRestore = true });
});

RunTarget(target);
