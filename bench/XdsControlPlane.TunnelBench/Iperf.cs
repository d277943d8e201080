using System.Globalization;
using System.Net;
using System.Text.Json;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// iperf3 as the probe for bulk throughput, the way the issue measured it: one <c>iperf3 -s</c> (the laptop's bulk
/// service, reached directly, through the broker and through <c>ssh -L</c>) and an <c>iperf3 -c</c> per measurement.
/// </summary>
internal sealed class Iperf : IDisposable
{
    private readonly ExternalProcess _server;

    private Iperf(ExternalProcess server, int port)
    {
        _server = server;
        Port = port;
    }

    /// <summary>The port the iperf3 server listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>Starts <c>iperf3 -s</c> on <paramref name="port"/> and waits until it accepts connections.</summary>
    public static async Task<Iperf> StartAsync(int port, CancellationToken cancellationToken)
    {
        var server = ExternalProcess.Start("iperf3", "-s", "-B", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture));
        await Ports.WaitAcceptingAsync(new IPEndPoint(IPAddress.Loopback, port), () => server.Exit, cancellationToken);
        return new Iperf(server, port);
    }

    /// <summary>
    /// Runs <c>iperf3 -c</c> against <paramref name="target"/> for <paramref name="seconds"/> with <paramref name="streams"/>
    /// parallel streams; <see cref="Direction.LaptopToClient"/> is <c>-R</c> (the server sends). Returns the bits per second the receiver counted.
    /// </summary>
    public static async Task<double> MeasureAsync(IPEndPoint target, Direction direction, int streams, int seconds, CancellationToken cancellationToken)
    {
        List<string> args = ["-c", target.Address.ToString(), "-p", target.Port.ToString(CultureInfo.InvariantCulture), "-t", seconds.ToString(CultureInfo.InvariantCulture), "-P", streams.ToString(CultureInfo.InvariantCulture), "-J"];
        if (direction == Direction.LaptopToClient)
        {
            args.Add("-R");
        }

        for (var attempt = 1; ; attempt++)
        {
            var json = await ExternalProcess.RunAsync("iperf3", [.. args], cancellationToken, allowFailure: true);
            using var report = JsonDocument.Parse(json);
            if (report.RootElement.TryGetProperty("end", out var end) && end.TryGetProperty("sum_received", out var received))
            {
                return received.GetProperty("bits_per_second").GetDouble();
            }

            // The server may still be finishing the last test ("the server is busy"): try again shortly.
            var error = report.RootElement.TryGetProperty("error", out var e) ? e.GetString() : json;
            if (attempt == 5)
            {
                throw new InvalidOperationException($"iperf3 to {target} failed: {error}");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    public void Dispose() => _server.Dispose();
}
