using System.Globalization;
using CsCheck;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// Property-based fuzzing (CsCheck) of ADS request handling through a real server on loopback: random sequences of
/// SotW and Delta requests — missing or odd nodes, unknown and empty type URLs, stale and invented nonces, NACKs with
/// control characters, wildcard and named subscriptions, unsubscribes of unknown names — must end each stream with a
/// status the protocol allows (never Unknown or Internal, which is what an exception in the server gives), never
/// hang, leave no client registered, and leave a well-behaved client served. Runs for FUZZ_SECONDS (default 15 s per
/// protocol; <c>dotnet cake --target=Fuzz</c> runs longer).
/// </summary>
[Category("Fuzz")]
public sealed class AdsFuzzTests
{
    private static readonly TimeSpan StreamLimit = TimeSpan.FromSeconds(10);
    private static readonly StatusCode[] Allowed = [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.ResourceExhausted, StatusCode.Cancelled];

    private static readonly string[] TypeUrlChoices =
    [
        TypeUrls.Cluster, TypeUrls.ClusterLoadAssignment, TypeUrls.Listener, TypeUrls.RouteConfiguration, TypeUrls.Secret,
        "", "type.googleapis.com/envoy.config.cluster.v3.Clusterx", "type.googleapis.com/google.protobuf.Empty", "\u001b[2J", new string('t', 300),
    ];

    private static readonly string[] NameChoices = ["cart", "checkout", "*", "", "unknown", "a\r\nb", "\u0000", new string('n', 1000), "xdstp://x/y"];

    private static readonly Gen<string> Text = Gen.OneOf(Gen.OneOf("", "1", "2", "3", "0", "-1", "\u001b[31m\r\nforged"), Gen.String[Gen.Char, 0, 40]);

    private static readonly Gen<Node?> Nodes = Gen.OneOf(
        Gen.Const((Node?)null),
        Gen.Select(Text, Gen.OneOf("gateway", "sidecar", "grpc", "", "\u0000"), Gen.Bool, (id, role, withMetadata) => (Node?)new Node
        {
            Id = id,
            Cluster = "shop",
            Metadata = withMetadata ? new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString(role) } } : null,
            UserAgentName = id,
        }));

    private static readonly Gen<Google.Rpc.Status?> Errors = Gen.OneOf(Gen.Const((Google.Rpc.Status?)null), Gen.Select(Gen.Int[-5, 20], Text, (code, message) => (Google.Rpc.Status?)new Google.Rpc.Status { Code = code, Message = message }));

    private static readonly Gen<DiscoveryRequest> SotwRequests = Gen.Select(Nodes, Gen.OneOf(TypeUrlChoices), Gen.OneOf(NameChoices).Array[0, 4], Text, Text, Errors)
        .Select(t => new DiscoveryRequest { Node = t.Item1, TypeUrl = t.Item2, ResourceNames = { t.Item3 }, VersionInfo = t.Item4, ResponseNonce = t.Item5, ErrorDetail = t.Item6 });

    private static readonly Gen<DeltaDiscoveryRequest> DeltaRequests = Gen.Select(Nodes, Gen.OneOf(TypeUrlChoices), Gen.OneOf(NameChoices).Array[0, 4], Gen.OneOf(NameChoices).Array[0, 3], Text, Errors)
        .Select(t =>
        {
            var request = new DeltaDiscoveryRequest { Node = t.Item1, TypeUrl = t.Item2, ResourceNamesSubscribe = { t.Item3 }, ResourceNamesUnsubscribe = { t.Item4 }, ResponseNonce = t.Item5, ErrorDetail = t.Item6 };
            foreach (var name in t.Item3.Where(n => n.Length > 0).Distinct())
            {
                request.InitialResourceVersions[name] = t.Item5;
            }

            return request;
        });

    [Test]
    public async Task Sotw_RandomRequestSequences_EndCleanlyAndOthersKeepBeingServed()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart", "checkout"));
        using var channels = new ChannelRotation(server.Channel.Target);
        var executions = await FuzzAsync(SotwRequests.Array[1, 6], async requests =>
        {
            using var call = channels.Next().StreamAggregatedResources();
            return await DriveAsync(call.RequestStream, call.ResponseStream, requests, () => call.GetStatus());
        });

        await AssertHealthyAsync(server);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SotW: {executions.Total} request sequences, statuses: {string.Join(", ", executions.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))}"));
    }

    [Test]
    public async Task Delta_RandomRequestSequences_EndCleanlyAndOthersKeepBeingServed()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart", "checkout"));
        using var channels = new ChannelRotation(server.Channel.Target);
        var executions = await FuzzAsync(DeltaRequests.Array[1, 6], async requests =>
        {
            using var call = channels.Next().DeltaAggregatedResources();
            return await DriveAsync(call.RequestStream, call.ResponseStream, requests, () => call.GetStatus());
        });

        await AssertHealthyAsync(server);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Delta: {executions.Total} request sequences, statuses: {string.Join(", ", executions.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))}"));
    }

    /// <summary>Runs <paramref name="run"/> on samples of <paramref name="gen"/> for the fuzzing time; each run's status must be allowed.</summary>
    private static async Task<(long Total, Dictionary<StatusCode, long> Statuses)> FuzzAsync<T>(Gen<T[]> gen, Func<T[], Task<StatusCode>> run)
    {
        long total = 0;
        var statuses = new Dictionary<StatusCode, long>();
        await gen.SampleAsync(
            async requests =>
            {
                var status = await run(requests);
                if (!Allowed.Contains(status))
                {
                    throw new InvalidOperationException($"the stream ended with {status}: the server threw");
                }

                lock (statuses)
                {
                    total++;
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                }
            },
            writeLine: TestContext.Out.WriteLine,
            seed: FuzzRun.Seed,
            time: FuzzRun.Seconds(15),
            threads: 1);
        return (total, statuses);
    }

    private static async Task<StatusCode> DriveAsync<TRequest, TResponse>(IClientStreamWriter<TRequest> requests, IAsyncStreamReader<TResponse> responses, TRequest[] sequence, Func<Status> status)
    {
        using var limit = new CancellationTokenSource(StreamLimit);
        var reading = Task.Run(async () =>
        {
            try
            {
                while (await responses.MoveNext(limit.Token))
                {
                }
            }
            catch (RpcException)
            {
                // The status says why.
            }
        });
        try
        {
            foreach (var request in sequence)
            {
                await requests.WriteAsync(request, limit.Token);
            }

            await requests.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server ended the stream early (an invalid first request): fine, the status says how.
        }
        catch (InvalidOperationException)
        {
            // Writing after the call completed.
        }

        try
        {
            await reading.WaitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the stream did not end within {StreamLimit.TotalSeconds} s after the client half-closed it");
        }

        return status().StatusCode;
    }

    private static async Task AssertHealthyAsync(XdsTestServer server)
    {
        await using var healthy = AdsTestClient.Open(server.Channel);
        var response = await healthy.RequestAsync(TypeUrls.Cluster);

        Assert.Multiple(() =>
        {
            Assert.That(AdsTestClient.Names(response), Is.EquivalentTo(new[] { "cart", "checkout" }), "a well-behaved client is served");
            Assert.That(() => server.Registry.Clients.Count, Is.EqualTo(1).After(5000, 20), "only the healthy client is registered: no fuzzed stream leaked");
        });
    }

    /// <summary>
    /// A new connection every 50 streams: Kestrel's defence against rapid stream resets (CVE-2023-44487) answers a
    /// connection that opens and abandons thousands of streams a second with ENHANCE_YOUR_CALM, rightly; the fuzzer
    /// is after the server's handling of requests, not that defence.
    /// </summary>
    private sealed class ChannelRotation(string target) : IDisposable
    {
        private readonly string _address = target.StartsWith("http", StringComparison.Ordinal) ? target : "http://" + target;
        private Grpc.Net.Client.GrpcChannel? _channel;
        private int _uses;

        public AggregatedDiscoveryService.AggregatedDiscoveryServiceClient Next()
        {
            if (_channel is null || ++_uses % 50 == 0)
            {
                _channel?.Dispose();
                _channel = Grpc.Net.Client.GrpcChannel.ForAddress(_address);
            }

            return new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel);
        }

        public void Dispose() => _channel?.Dispose();
    }

}
