using Envoy.Config.Core.V3;

namespace XdsControlPlane.Xds;

/// <summary>One xDS stream as callbacks see it.</summary>
/// <param name="StreamId">Unique within this process (the <see cref="ClientStatus.StreamId"/> of the client).</param>
/// <param name="Protocol"><c>sotw</c> or <c>delta</c>.</param>
/// <param name="Node">The client's node from its first request: a bounded, printable copy.</param>
/// <param name="Group">The client's node group.</param>
public sealed record XdsStreamInfo(long StreamId, string Protocol, Node Node, string Group);

/// <summary>
/// Hooks into the life of every xDS stream, in the manner of go-control-plane's <c>server/v3</c> <c>Callbacks</c>:
/// register zero or more as singletons (<c>services.AddSingleton&lt;IXdsStreamCallbacks, T&gt;()</c>). Each runs on
/// the stream's processing loop, after the client's status in <see cref="ClientRegistry"/> shows the change, so a
/// callback that looks there sees what caused it; keep it short (signal, count, queue work elsewhere). An exception is
/// logged and the stream goes on. Every method does nothing unless implemented.
/// </summary>
public interface IXdsStreamCallbacks
{
    /// <summary>The stream's first request arrived: the node and its group are known.</summary>
    void OnOpened(XdsStreamInfo stream)
    {
    }

    /// <summary>The client accepted the response <paramref name="nonce"/> of <paramref name="typeUrl"/>.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="typeUrl">The resource type.</param>
    /// <param name="version">The version it accepted: <c>version_info</c> (SotW) or the snapshot version the response was computed from (Delta).</param>
    /// <param name="nonce">The nonce of the accepted response.</param>
    void OnAcked(XdsStreamInfo stream, string typeUrl, string? version, string nonce)
    {
    }

    /// <summary>The client rejected a response of <paramref name="typeUrl"/>.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="typeUrl">The resource type.</param>
    /// <param name="version">The version it rejected.</param>
    /// <param name="errorDetail">The client's <c>error_detail.message</c>: on one line and capped (<see cref="NackRecord.Message"/>).</param>
    void OnNacked(XdsStreamInfo stream, string typeUrl, string? version, string errorDetail)
    {
    }

    /// <summary>
    /// Every type the client subscribes to is now in sync with snapshot <paramref name="snapshotVersion"/>
    /// (<see cref="ClientStatus.SyncedSnapshot"/> became this): after ACKs, or because a new snapshot changed nothing the client holds.
    /// </summary>
    void OnSynced(XdsStreamInfo stream, string snapshotVersion)
    {
    }

    /// <summary>The stream ended (for whatever reason) and the client is gone from <see cref="ClientRegistry"/>.</summary>
    void OnClosed(XdsStreamInfo stream)
    {
    }
}

/// <summary>Invokes every registered <see cref="IXdsStreamCallbacks"/>, logging (never rethrowing) what one throws.</summary>
internal sealed class XdsStreamCallbackList(IEnumerable<IXdsStreamCallbacks> callbacks, ILogger logger)
{
    private readonly IXdsStreamCallbacks[] _callbacks = [.. callbacks];

    /// <summary>No callbacks.</summary>
    public static XdsStreamCallbackList None { get; } = new([], Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    /// <summary>True when nothing is registered (the stream then records no events at all).</summary>
    public bool IsEmpty => _callbacks.Length == 0;

    /// <summary>Calls <paramref name="invoke"/> on each callback in registration order.</summary>
    public void Invoke(XdsStreamInfo stream, string callback, Action<IXdsStreamCallbacks> invoke)
    {
        foreach (var target in _callbacks)
        {
            try
            {
                invoke(target);
            }
            catch (Exception e)
            {
                XdsLog.CallbackFailed(logger, e, stream.StreamId, target.GetType().Name, callback);
            }
        }
    }
}
