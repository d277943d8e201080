namespace XdsControlPlane.Tunnel;

/// <summary>
/// The bytes one tunnel stream may hold for all its connections together: what the peer sent and the local sockets
/// have not taken yet. Each connection's receive window bounds what it alone may hold; this bounds their sum, which
/// would otherwise be the window times the connections (1 GiB at the defaults).
/// </summary>
internal sealed class StreamBufferBudget(long limit)
{
    private long _held;

    /// <summary>The most bytes the stream may hold.</summary>
    public long Limit => limit;

    /// <summary>Bytes held now.</summary>
    public long Held => Interlocked.Read(ref _held);

    /// <summary>Takes <paramref name="count"/> bytes from the budget; false (and nothing taken) when that would pass the limit.</summary>
    public bool TryTake(long count)
    {
        while (true)
        {
            var held = Interlocked.Read(ref _held);
            if (held + count > limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _held, held + count, held) == held)
            {
                return true;
            }
        }
    }

    /// <summary>Gives back <paramref name="count"/> bytes taken before.</summary>
    public void Return(long count) => Interlocked.Add(ref _held, -count);
}
