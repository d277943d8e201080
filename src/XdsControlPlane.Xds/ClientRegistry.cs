using System.Collections.Concurrent;
using Envoy.Config.Core.V3;

namespace XdsControlPlane.Xds;

/// <summary>What one client holds of one type.</summary>
/// <param name="TypeUrl">The resource type.</param>
/// <param name="SentVersion"><c>version_info</c> of the last response sent.</param>
/// <param name="AckedVersion"><c>version_info</c> of the last response the client ACKed.</param>
/// <param name="LastNack">The last NACK since the last ACK, if any.</param>
/// <param name="Sent">The resources of the last response, by name (shared, immutable).</param>
/// <param name="Acked">The resources of the last ACKed response, by name.</param>
/// <param name="SyncedSnapshot">The snapshot version this type is known to be in sync with (ACKed, nothing pending).</param>
/// <param name="AckedAt">When the client last ACKed a response of this type (CSDS <c>last_updated</c>).</param>
public sealed record TypeStatus(
    string TypeUrl,
    string? SentVersion,
    string? AckedVersion,
    NackRecord? LastNack,
    IReadOnlyDictionary<string, XdsResource> Sent,
    IReadOnlyDictionary<string, XdsResource> Acked,
    string? SyncedSnapshot,
    DateTimeOffset? AckedAt = null);

/// <summary>One connected xDS stream and its per-type sync state (what CSDS and <c>sandboxctl proxies</c> show).</summary>
/// <param name="StreamId">Unique within this process.</param>
/// <param name="Node">The client's node, from its first request: a bounded, printable copy (ids and names capped, large metadata dropped with a note).</param>
/// <param name="Group">Its node group.</param>
/// <param name="Types">One entry per type the client subscribed to.</param>
public sealed record ClientStatus(long StreamId, Node Node, string Group, IReadOnlyList<TypeStatus> Types)
{
    /// <summary>
    /// The snapshot version every subscribed type this server serves is in sync with, or <see langword="null"/>.
    /// Types the server does not serve do not count.
    /// </summary>
    public string? SyncedSnapshot =>
        Types.Where(t => TypeUrls.IsKnown(t.TypeUrl)).Select(t => t.SyncedSnapshot).Distinct().ToArray() is [{ } only] ? only : null;
}

/// <summary>The connected clients of this replica and their sync state. Thread-safe.</summary>
public sealed class ClientRegistry
{
    // One slot per stream, added once: a status update is a reference write, not a locked dictionary write
    // (every stream publishes its status after each request it processes).
    private readonly ConcurrentDictionary<long, Slot> _clients = new();

    /// <summary>Every connected client, ordered by stream id.</summary>
    public IReadOnlyList<ClientStatus> Clients => Statuses().OrderBy(c => c.StreamId).ToArray();

    /// <summary>
    /// True when every connected client of <paramref name="group"/> has ACKed snapshot <paramref name="snapshotVersion"/>
    /// for every type it subscribes to; <paramref name="clients"/> tells how many were counted (0 means vacuously true).
    /// </summary>
    public bool AllAcked(string group, string snapshotVersion, out int clients)
    {
        var members = Statuses().Where(c => c.Group == group).ToArray();
        clients = members.Length;
        return members.All(c => c.SyncedSnapshot == snapshotVersion);
    }

    internal void Update(ClientStatus status) => _clients.GetOrAdd(status.StreamId, static _ => new Slot()).Status = status;

    internal void Remove(long streamId) => _clients.TryRemove(streamId, out _);

    private IEnumerable<ClientStatus> Statuses() => _clients.Values.Select(s => s.Status).OfType<ClientStatus>();

    private sealed class Slot
    {
        private ClientStatus? _status;

        public ClientStatus? Status
        {
            get => Volatile.Read(ref _status);
            set => Volatile.Write(ref _status, value);
        }
    }
}
