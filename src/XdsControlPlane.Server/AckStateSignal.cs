using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// The stream callbacks that drive <c>Programmed</c>: whenever a data plane's ACK state may have changed (a stream
/// opened, an ACK, a NACK, a client in sync with a new snapshot, a stream closed) each wake-up is called — the
/// status writer's re-check and the replica's ACK Lease. The wake-ups coalesce, so a burst of ACKs is one re-check.
/// </summary>
/// <param name="wakeUps">What to wake; each must be quick and never block (a signal).</param>
internal sealed class AckStateSignal(params Action[] wakeUps) : IXdsStreamCallbacks
{
    public void OnOpened(XdsStreamInfo stream) => Wake();

    public void OnAcked(XdsStreamInfo stream, string typeUrl, string? version, string nonce) => Wake();

    public void OnNacked(XdsStreamInfo stream, string typeUrl, string? version, string errorDetail) => Wake();

    public void OnSynced(XdsStreamInfo stream, string snapshotVersion) => Wake();

    public void OnClosed(XdsStreamInfo stream) => Wake();

    private void Wake()
    {
        foreach (var wake in wakeUps)
        {
            wake();
        }
    }
}
