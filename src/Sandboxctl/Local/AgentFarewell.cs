using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// The Goodbye of an agent stopped while it had no stream (waiting to reconnect, or in the middle of reconnecting):
/// one short attempt — Hello with the same workload, secret and session id, Welcome, Goodbye, then the broker's end of
/// the stream — so the broker withdraws the routes at once instead of when its reconnect grace ends. Connections the
/// broker opens in that moment are not served (they are refused with the stream's end). Gives up quietly after
/// <see cref="Timeout"/>: a broker that cannot be reached keeps the routes until the grace ends, as before.
/// </summary>
internal sealed class AgentFarewell(TunnelBroker.TunnelBrokerClient client)
{
    /// <summary>How long the attempt may take in all.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>Says Goodbye on a stream of its own; true when the broker welcomed it and the Goodbye was sent.</summary>
    public async Task<bool> SayAsync(Hello hello, string reason)
    {
        ArgumentNullException.ThrowIfNull(hello);
        using var deadline = new CancellationTokenSource(Timeout);
        var sent = false;
        try
        {
            using var call = client.Connect(cancellationToken: deadline.Token);
            await call.RequestStream.WriteAsync(new Frame { Hello = hello }, deadline.Token).ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(deadline.Token).ConfigureAwait(false) || call.ResponseStream.Current.FrameCase != Frame.FrameOneofCase.Welcome)
            {
                return false;
            }

            await call.RequestStream.WriteAsync(new Frame { Goodbye = new Goodbye { Reason = reason } }, deadline.Token).ConfigureAwait(false);
            sent = true;

            // The broker withdraws the routes, drains, then ends the stream; frames until then are not ours to serve.
            while (await call.ResponseStream.MoveNext(deadline.Token).ConfigureAwait(false))
            {
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or InvalidOperationException or HttpRequestException)
        {
            return sent;
        }
    }
}
