namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Whether this replica is the one that writes (status, reconciles): every replica serves xDS, one leads. The
/// Kubernetes mode elects through a Lease (<see cref="LeaseLeadership"/>); a single process leads always
/// (<see cref="AlwaysLeader"/>).
/// </summary>
public interface ILeadership
{
    /// <summary>This replica's identity (the Lease holder's name; the replica's name in shared ACK state).</summary>
    string Identity { get; }

    /// <summary>Whether this replica leads now.</summary>
    bool IsLeader { get; }
}

/// <summary>The leadership of a process that is the only writer (the manifest directory mode, tests): it always leads.</summary>
/// <param name="identity">The replica's identity.</param>
public sealed class AlwaysLeader(string identity) : ILeadership
{
    /// <inheritdoc />
    public string Identity { get; } = identity;

    /// <inheritdoc />
    public bool IsLeader => true;
}
