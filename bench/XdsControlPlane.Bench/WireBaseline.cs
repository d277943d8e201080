using System.Collections.Concurrent;
using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Bench;

/// <summary>
/// The wire baseline: an ADS server with no protocol logic. Each type's response is built once per snapshot and the
/// same message is written to every stream; ACKs of the current version are only counted. What it costs is the
/// cost of gRPC, HTTP/2 and serialization alone.
/// </summary>
internal sealed class WireBaseline : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    private readonly ConcurrentDictionary<long, Channel<DiscoveryResponse>> _streams = new();
    private Dictionary<string, DiscoveryResponse> _responses = [];
    private string _version = string.Empty;
    private long _nextId;
    private int _acks;

    public int Streams => _streams.Count;

    public int Acks => Volatile.Read(ref _acks);

    public void Publish(Snapshot snapshot)
    {
        var responses = TypeUrls.PushOrder.ToDictionary(t => t, t =>
        {
            var response = new DiscoveryResponse { TypeUrl = t, VersionInfo = snapshot.Version, Nonce = snapshot.Version };
            response.Resources.AddRange(snapshot.Resources(t).Values.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => r.Packed));
            return response;
        });
        Volatile.Write(ref _acks, 0);
        _version = snapshot.Version;
        _responses = responses;
        foreach (var stream in _streams.Values)
        {
            foreach (var type in TypeUrls.PushOrder.Where(t => responses[t].Resources.Count > 0))
            {
                stream.Writer.TryWrite(responses[type]);
            }
        }
    }

    public override async Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context)
    {
        var id = Interlocked.Increment(ref _nextId);
        var outbox = Channel.CreateUnbounded<DiscoveryResponse>(new UnboundedChannelOptions { SingleReader = true });
        _streams[id] = outbox;
        var writer = WriteAsync(outbox.Reader, responseStream, context.CancellationToken);
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                if (request.ResponseNonce.Length == 0 && _responses.TryGetValue(request.TypeUrl, out var initial))
                {
                    outbox.Writer.TryWrite(initial);
                }
                else if (request.VersionInfo == _version && request.ErrorDetail is null)
                {
                    Interlocked.Increment(ref _acks);
                }
            }
        }
        finally
        {
            _streams.TryRemove(id, out _);
            outbox.Writer.TryComplete();
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task WriteAsync(ChannelReader<DiscoveryResponse> outbox, IServerStreamWriter<DiscoveryResponse> responses, CancellationToken cancellationToken)
    {
        await foreach (var response in outbox.ReadAllAsync(cancellationToken))
        {
            await responses.WriteAsync(response, cancellationToken);
        }
    }
}
