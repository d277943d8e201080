using System.Collections.Concurrent;
using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Grpc.Core;

namespace XdsControlPlane.Bench;

/// <summary>
/// The wire baseline: an ADS server with no protocol logic. Each type's response is built once per snapshot and the
/// same message is written to every stream; ACKs of the current version are only counted. What it costs is the
/// cost of gRPC, HTTP/2 and serialization alone. Serves State of the World and Delta (every resource of a type in
/// one DeltaDiscoveryResponse, nonce = snapshot version).
/// </summary>
internal sealed class WireBaseline : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    private readonly ConcurrentDictionary<long, Channel<DiscoveryResponse>> _streams = new();
    private readonly ConcurrentDictionary<long, Channel<DeltaDiscoveryResponse>> _deltaStreams = new();
    private Dictionary<string, DiscoveryResponse> _responses = [];
    private Dictionary<string, DeltaDiscoveryResponse> _deltaResponses = [];
    private string _version = string.Empty;
    private long _nextId;
    private int _acks;

    public int Streams => _streams.Count + _deltaStreams.Count;

    public int Acks => Volatile.Read(ref _acks);

    public void Publish(Snapshot snapshot)
    {
        IEnumerable<XdsResource> Ordered(string type) => snapshot.Resources(type).Values.OrderBy(r => r.Name, StringComparer.Ordinal);
        var responses = TypeUrls.PushOrder.ToDictionary(t => t, t =>
        {
            var response = new DiscoveryResponse { TypeUrl = t, VersionInfo = snapshot.Version, Nonce = snapshot.Version };
            response.Resources.AddRange(Ordered(t).Select(r => r.Packed));
            return response;
        });
        var deltaResponses = TypeUrls.PushOrder.ToDictionary(t => t, t =>
        {
            var response = new DeltaDiscoveryResponse { TypeUrl = t, SystemVersionInfo = snapshot.Version, Nonce = snapshot.Version };
            response.Resources.AddRange(Ordered(t).Select(r => new Resource { Name = r.Name, Version = r.Version, Resource_ = r.Packed }));
            return response;
        });
        Volatile.Write(ref _acks, 0);
        _version = snapshot.Version;
        _responses = responses;
        _deltaResponses = deltaResponses;
        var types = TypeUrls.PushOrder.Where(t => responses[t].Resources.Count > 0).ToArray();
        foreach (var stream in _streams.Values)
        {
            foreach (var type in types)
            {
                stream.Writer.TryWrite(responses[type]);
            }
        }

        foreach (var stream in _deltaStreams.Values)
        {
            foreach (var type in types)
            {
                stream.Writer.TryWrite(deltaResponses[type]);
            }
        }
    }

    public override Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        ServeAsync(_streams, requestStream, responseStream, context, r => Answer(_responses, r.TypeUrl, r.ResponseNonce, r.VersionInfo, r.ErrorDetail));

    public override Task DeltaAggregatedResources(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        ServeAsync(_deltaStreams, requestStream, responseStream, context, r => Answer(_deltaResponses, r.TypeUrl, r.ResponseNonce, r.ResponseNonce, r.ErrorDetail));

    private static async Task WriteAsync<TResponse>(ChannelReader<TResponse> outbox, IServerStreamWriter<TResponse> responses, CancellationToken cancellationToken)
    {
        await foreach (var response in outbox.ReadAllAsync(cancellationToken))
        {
            await responses.WriteAsync(response, cancellationToken);
        }
    }

    /// <summary>A first request gets the type's current response; an ACK of the current snapshot is counted.</summary>
    private TResponse? Answer<TResponse>(Dictionary<string, TResponse> responses, string typeUrl, string nonce, string ackedVersion, Google.Rpc.Status? error)
        where TResponse : class
    {
        if (nonce.Length == 0)
        {
            return responses.GetValueOrDefault(typeUrl);
        }

        if (ackedVersion == _version && error is null)
        {
            Interlocked.Increment(ref _acks);
        }

        return null;
    }

    /// <summary>Registers a stream's outbox, answers each request with what <paramref name="answer"/> returns, if anything.</summary>
    private async Task ServeAsync<TRequest, TResponse>(
        ConcurrentDictionary<long, Channel<TResponse>> streams,
        IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        Func<TRequest, TResponse?> answer)
        where TResponse : class
    {
        var id = Interlocked.Increment(ref _nextId);
        var outbox = Channel.CreateUnbounded<TResponse>(new UnboundedChannelOptions { SingleReader = true });
        streams[id] = outbox;
        var writer = WriteAsync(outbox.Reader, responseStream, context.CancellationToken);
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                if (answer(request) is { } response)
                {
                    outbox.Writer.TryWrite(response);
                }
            }
        }
        finally
        {
            streams.TryRemove(id, out _);
            outbox.Writer.TryComplete();
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
