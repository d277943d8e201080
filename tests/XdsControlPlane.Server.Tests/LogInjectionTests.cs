using Envoy.Config.Core.V3;
using Envoy.Service.Cluster.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Log injection (as kubectl's CVE-2021-25743): a client whose node id, cluster, user agent, NACK text and type URL
/// carry escape sequences and line breaks must not forge log lines or reach an operator's terminal raw.
/// </summary>
public sealed class LogInjectionTests
{
    private const string Forged = "\u001b[31m\r\n[12:00:00 INF] forged";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task HostileClient_ItsTextInThePlainAndJsonLogs_HasNoEscapesOrLineBreaks()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new HostLog();
        await using var host = await StartAsync(log, cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");

        using (var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancel.Token))
        {
            var node = new Node { Id = "a" + Forged, Cluster = "c" + Forged, UserAgentName = "ua" + Forged, Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("sidecar") } } };
            await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = TypeUrls.Cluster }, cancel.Token);
            Assert.That(await call.ResponseStream.MoveNext(cancel.Token), Is.True);
            var response = call.ResponseStream.Current;
            await call.RequestStream.WriteAsync(new DiscoveryRequest
            {
                TypeUrl = TypeUrls.Cluster,
                ResponseNonce = response.Nonce,
                ErrorDetail = new Google.Rpc.Status { Code = 3, Message = "cluster static: bad" + Forged },
            }, cancel.Token);
            await Eventually.WaitAsync(() => log.Events.Any(e => e.EventId == 2002), "event 2002", cancel.Token);
            await call.RequestStream.CompleteAsync();
            await Eventually.WaitAsync(() => log.Events.Any(e => e.EventId == 2001), "event 2001", cancel.Token);
        }

        using (var wrongType = new ClusterDiscoveryService.ClusterDiscoveryServiceClient(channel).StreamClusters(cancellationToken: cancel.Token))
        {
            await wrongType.RequestStream.WriteAsync(new DiscoveryRequest { Node = new Node { Id = "b" }, TypeUrl = "type.googleapis.com/x" + Forged }, cancel.Token);
            Assert.That(async () => await wrongType.ResponseStream.MoveNext(cancel.Token), Throws.InstanceOf<Grpc.Core.RpcException>());
            await Eventually.WaitAsync(() => log.Events.Any(e => e.EventId == 2005), "event 2005", cancel.Token);
        }

        await host.StopAsync(cancel.Token);

        var plain = log.Render(new MessageTemplateTextFormatter(ServerHost.PlainLogTemplate));
        var json = log.Render(new CompactJsonFormatter());
        var clientEvents = log.Events.Where(e => e.EventId is 2000 or 2001 or 2002 or 2005).Select(e => e.Text).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(clientEvents, Has.Length.EqualTo(4), string.Join("\n", clientEvents));
            Assert.That(clientEvents, Has.All.Contain("[12:00:00 INF] forged"), "the client's text is there, defused");
            Assert.That(clientEvents, Has.None.Contain("\u001b").And.None.Contain("\r").And.None.Contain("\n"));
            Assert.That(plain, Does.Not.Contain("\u001b"));
            Assert.That(plain.Split('\n').Where(line => line.StartsWith("[12:00:00 INF] forged", StringComparison.Ordinal)), Is.Empty, "no forged line in the plain log");
            Assert.That(json, Does.Not.Contain("\u001b").And.Not.Contain("\r"));
            Assert.That(json.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.All.StartWith("{"), "one JSON object per line");
        });
    }

    /// <summary>
    /// A client's garbage or cancellation is not a server error: a request that does not decode ends its stream with
    /// INVALID_ARGUMENT and one warning line, and a stream the client cancels closes with its Information line; neither
    /// writes a stack trace (gRPC's own per-call lines, which carried one each, are below the host's level).
    /// </summary>
    [Test]
    public async Task MalformedAndCancelledStreams_LogNoStackTraceAndNoError()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new HostLog();
        await using var host = await StartAsync(log, cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        var bytes = Grpc.Core.Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Grpc.Core.Method<byte[], byte[]>(Grpc.Core.MethodType.DuplexStreaming, AggregatedDiscoveryService.Descriptor.FullName, "StreamAggregatedResources", bytes, bytes);

        using (var garbage = channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new Grpc.Core.CallOptions(cancellationToken: cancel.Token)))
        {
            await garbage.RequestStream.WriteAsync(Enumerable.Repeat((byte)0xff, 1300).ToArray(), cancel.Token);
            var failure = Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await garbage.ResponseStream.MoveNext(cancel.Token));
            Assert.That(failure!.StatusCode, Is.EqualTo(Grpc.Core.StatusCode.InvalidArgument), failure.Status.Detail);
        }

        using (var cancelled = new CancellationTokenSource())
        using (var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancelled.Token))
        {
            var node = new Node { Id = "cancelling", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("sidecar") } } };
            await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = TypeUrls.Cluster }, cancel.Token);
            Assert.That(await call.ResponseStream.MoveNext(cancel.Token), Is.True);
            await cancelled.CancelAsync();
        }

        await Eventually.WaitAsync(() => log.Events.Any(e => e.EventId == 2001 && e.Text.Contains("cancelling", StringComparison.Ordinal)), "the cancelled stream's close line", cancel.Token);
        await host.StopAsync(cancel.Token);

        log.Expect("a request is not a valid");
        var plain = log.Render(new MessageTemplateTextFormatter(ServerHost.PlainLogTemplate));
        Assert.Multiple(() =>
        {
            Assert.That(plain.Split('\n').Where(line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal)), Is.Empty, "no stack trace:\n" + plain);
            Assert.That(log.Events.Count(e => e.EventId == 2011), Is.EqualTo(1), "one line for the malformed request");
        });
        log.AssertNoUnexpectedWarnings();
    }

    private static async Task<ServerHost> StartAsync(HostLog log, CancellationToken cancellationToken)
    {
        var host = new InProcessServer().WithLog(log).Create();
        await host.StartAsync(cancellationToken);
        StaticSnapshot.PublishTo(host, "sidecar");
        return host;
    }
}
