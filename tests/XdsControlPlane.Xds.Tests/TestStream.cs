using System.Threading.Channels;
using Grpc.Core;

namespace XdsControlPlane.Xds.Tests;

/// <summary>A bidirectional gRPC stream for tests: responses are pumped into a channel; every wait has a timeout.</summary>
internal abstract class TestStream<TRequest, TResponse> : IAsyncDisposable
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly AsyncDuplexStreamingCall<TRequest, TResponse> _call;
    private readonly Channel<TResponse> _responses = Channel.CreateUnbounded<TResponse>();
    private readonly Task _pump;

    protected TestStream(AsyncDuplexStreamingCall<TRequest, TResponse> call)
    {
        _call = call;
        _pump = PumpAsync();
    }

    protected async Task WriteAsync(TRequest request)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _call.RequestStream.WriteAsync(request, timeout.Token);
    }

    public async Task<TResponse> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            return await _responses.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no response within {Timeout.TotalSeconds} s");
        }
        catch (ChannelClosedException e) when (e.InnerException is RpcException rpc)
        {
            throw rpc;
        }
    }

    /// <summary>The status the stream ended with.</summary>
    public async Task<RpcException> ExpectFailureAsync()
    {
        try
        {
            await ReceiveAsync();
        }
        catch (RpcException e)
        {
            return e;
        }

        throw new AssertionException("the stream did not fail");
    }

    public async ValueTask DisposeAsync()
    {
        _call.Dispose();
        await _pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var response in _call.ResponseStream.ReadAllAsync())
            {
                await _responses.Writer.WriteAsync(response);
            }

            _responses.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _responses.Writer.TryComplete(e);
        }
    }
}
