using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Grpc.Core;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// Requests handed to a stream in process, without gRPC: the test adds them, and learns when the stream's reader
/// loop asks for the next one — by then it has queued every earlier request (it queues one before reading on).
/// </summary>
internal sealed class ScriptedRequests<T> : IAsyncStreamReader<T>
    where T : class
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Channel<T> _requests = Channel.CreateUnbounded<T>();
    private readonly Channel<int> _reads = Channel.CreateUnbounded<int>();
    private int _readCount;

    public T Current { get; private set; } = null!;

    public void Add(T request) => _requests.Writer.TryWrite(request);

    /// <summary>Ends the request stream (the client half-closes).</summary>
    public void Complete() => _requests.Writer.TryComplete();

    /// <summary>
    /// Fails the pending and every later read as Kestrel does when the client resets the stream: with the
    /// <see cref="IOException"/> it completes the request body with, before the call's token is cancelled.
    /// </summary>
    public void Reset() => _requests.Writer.TryComplete(new IOException("The client reset the request stream."));

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        _reads.Writer.TryWrite(Interlocked.Increment(ref _readCount));
        if (!await _requests.Reader.WaitToReadAsync(cancellationToken))
        {
            return false;
        }

        Current = await _requests.Reader.ReadAsync(cancellationToken);
        return true;
    }

    /// <summary>Waits until the reader loop has taken <paramref name="count"/> requests and asks for one more: all of them are queued.</summary>
    public async Task WaitUntilQueuedAsync(int count)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (await _reads.Reader.ReadAsync(timeout.Token) <= count)
        {
        }
    }
}

/// <summary>Responses a stream writes in process, read back one by one with a timeout.</summary>
internal sealed class CollectedResponses<T> : IServerStreamWriter<T>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Channel<T> _responses = Channel.CreateUnbounded<T>();

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message) => _responses.Writer.WriteAsync(message).AsTask();

    public Task WriteAsync(T message, CancellationToken cancellationToken) => _responses.Writer.WriteAsync(message, cancellationToken).AsTask();

    public async Task<T> NextAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        return await _responses.Reader.ReadAsync(timeout.Token);
    }
}

/// <summary>Puts every node in <see cref="XdsTestServer.Group"/>, but only once released: holds a stream's processing loop in its first request.</summary>
internal sealed class GatedGroupResolver : INodeGroupResolver
{
    private readonly ManualResetEventSlim _open = new();

    public void Release() => _open.Set();

    public string GroupOf(Node node)
    {
        _open.Wait(TimeSpan.FromSeconds(10));
        return XdsTestServer.Group;
    }
}
