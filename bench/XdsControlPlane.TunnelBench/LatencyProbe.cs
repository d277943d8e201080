using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.TunnelBench;

/// <summary>Round-trip times of a 1 KiB request and its 1 KiB response, one at a time on one connection.</summary>
internal static class LatencyProbe
{
    /// <summary>
    /// <paramref name="warmUp"/> round trips that are not counted, then <paramref name="rounds"/> that are; returns
    /// their 50th and 99th percentiles in microseconds.
    /// </summary>
    public static async Task<LatencyPercentiles> MeasureAsync(IPEndPoint target, int warmUp, int rounds, CancellationToken cancellationToken)
    {
        using var socket = await ThroughputProbe.ConnectAsync(target, LaptopMode.Echo, cancellationToken);
        var request = new byte[LaptopService.EchoSize];
        Random.Shared.NextBytes(request);
        var response = new byte[LaptopService.EchoSize];
        var samples = new double[rounds];
        for (var i = -warmUp; i < rounds; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
            if (!await LaptopService.ReceiveExactlyAsync(socket, response, cancellationToken))
            {
                throw new IOException("the laptop closed the echo connection");
            }

            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        }

        socket.Shutdown(SocketShutdown.Send);
        Array.Sort(samples);
        return new LatencyPercentiles(Percentile(samples, 0.50), Percentile(samples, 0.99));
    }

    private static double Percentile(double[] sorted, double fraction) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(fraction * sorted.Length) - 1)];
}

/// <summary>Round-trip percentiles in microseconds.</summary>
internal sealed record LatencyPercentiles(double P50, double P99);
