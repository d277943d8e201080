namespace XdsControlPlane.Server;

/// <summary>
/// Where the runtime runs what follows a socket read or write: on the socket event thread that learnt the socket was
/// ready (one per core then) instead of handing it to a thread-pool thread first. Every tunnelled byte crosses Kestrel's
/// socket to the agent, and each hand-off woke a thread: laptop → client the broker waited 15 to 25 times per MB, nearly
/// all of it its event thread going back to sleep after handing work over; 3 to 5 inline (docs/tunnel-benchmark.md,
/// fourth pass). Kestrel still runs the gRPC services on the thread pool. The price: code that runs long after a socket
/// read without awaiting holds up the other sockets of its event thread meanwhile. The runtime reads
/// <see cref="Variable"/> once, when the process first uses a socket; an operator's own value (<c>0</c> turns it off) is kept.
/// </summary>
internal static class SocketCompletions
{
    /// <summary>The runtime's switch.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Turns inline completions on unless the environment says otherwise; call before anything opens a socket.</summary>
    public static void RunInline()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }
}
