using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The server process runs socket completions inline (<see cref="SocketCompletions"/>): the runtime then gives each
/// core its own socket event thread (one for up to 30 cores otherwise), which is what a real process shows in
/// <c>/proc</c>. An operator's <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c> is kept.
/// </summary>
public sealed class SocketCompletionsTests
{
    [Test]
    public async Task RealProcess_ByDefault_RunsSocketCompletionsInline_AnOperatorsZeroTurnsItOff()
    {
        Assume.That(OperatingSystem.IsLinux() && Environment.ProcessorCount > 1, "reads /proc; with one core both ways have one event thread");
        Assume.That(Environment.GetEnvironmentVariable(SocketCompletions.Variable), Is.Null, "the test run sets the variable itself");

        var manifests = Directory.CreateTempSubdirectory("xdscp-sockets-");
        int inline, handedOver;
        try
        {
            await using (var server = await ServerProcess.StartAsync(["--manifests", manifests.FullName]))
            {
                inline = SocketEventThreads(server.ProcessId);
            }

            await using (var server = await ServerProcess.StartAsync(["--manifests", manifests.FullName], new Dictionary<string, string> { [SocketCompletions.Variable] = "0" }))
            {
                handedOver = SocketEventThreads(server.ProcessId);
            }
        }
        finally
        {
            manifests.Delete(recursive: true);
        }

        Assert.Multiple(() =>
        {
            Assert.That(inline, Is.EqualTo(Environment.ProcessorCount), "one socket event thread per core: completions run inline");
            Assert.That(handedOver, Is.EqualTo(1), "the operator's 0: one event thread handing completions to the thread pool");
        });
    }

    /// <summary>The runtime's socket event threads of process <paramref name="pid"/> (named ".NET Sockets").</summary>
    private static int SocketEventThreads(int pid) =>
        Directory.EnumerateDirectories($"/proc/{pid}/task").Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Sockets");
}
