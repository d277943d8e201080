using System.Text;

namespace Sandboxctl.Tests;

/// <summary>
/// What a real sandboxctl process loads to answer the commands a shell runs on every TAB or a user runs to check the
/// install: none of the heavy libraries (the Envoy API and its descriptors, the Kubernetes client, YAML, gRPC, Kestrel,
/// console styling).
/// Loading the Envoy descriptors for <c>--version</c> made it ten times slower (docs/sandboxctl.md#start-up); this is
/// the check that does not depend on the machine's speed. The runtime's own event trace (EventPipe, loader events)
/// names every assembly the process loaded.
/// </summary>
public sealed class StartupTests
{
    private static readonly string[] Heavy =
    [
        "Google.Protobuf", "XdsControlPlane.Envoy", "KubernetesClient", "YamlDotNet", "Grpc.Net.Client", "Yarp.ReverseProxy",
        "Microsoft.AspNetCore.Server.Kestrel", "Spectre.Console", "QRCoder",
    ];

    [TestCase("--version")]
    [TestCase("--help")]
    [TestCase("completion", "bash")]
    [TestCase("[suggest:12]", "sandboxctl r")]
    [TestCase("[suggest:20]", "sandboxctl preview o")]
    public async Task QuickCommand_LoadsNoHeavyLibrary(params string[] args)
    {
        var directory = Directory.CreateTempSubdirectory("sandboxctl-startup-").FullName;
        try
        {
            var trace = Path.Combine(directory, "loads.nettrace");
            var (code, _, stderr) = await CliHarness.RunProcessAsync(
                new Dictionary<string, string?>
                {
                    ["DOTNET_EnableEventPipe"] = "1",
                    ["DOTNET_EventPipeOutputPath"] = trace,
                    ["DOTNET_EventPipeConfig"] = "Microsoft-Windows-DotNETRuntime:0x8:4", // the loader keyword
                },
                args);
            var events = await File.ReadAllBytesAsync(trace);
            bool Loaded(string name) => events.AsSpan().IndexOf(Encoding.Unicode.GetBytes(name)) >= 0;

            Assert.Multiple(() =>
            {
                Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
                Assert.That(Loaded("System.CommandLine"), Is.True, "the trace names the assemblies loaded");
                Assert.That(Heavy.Where(Loaded), Is.Empty, $"sandboxctl {string.Join(' ', args)} loaded heavy libraries");
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
