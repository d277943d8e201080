using System.Globalization;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// The server's GC handles by kind (strong, pinned, weak, dependent…), counted from the runtime's handle events
/// (<c>SetGCHandle</c>, <c>DestroyGCHandle</c>: keyword <c>GCHandle</c>, 0x2) from the moment the trace started: how many
/// were created, how many of those were freed, and how many are alive. The GC's own handle count (in its heap statistics)
/// says only that handles grow; this says which kind. A handle set again (a weak reference given a new target) counts
/// once; handles created before the trace and freed during it are counted apart, since their kind is not known.
/// </summary>
internal sealed class GcHandleLedger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, string> _alive = [];
    private readonly Dictionary<string, (long Created, long Freed)> _byKind = new(StringComparer.Ordinal);
    private long _freedFromBefore;

    /// <summary>A handle set to an object: new unless it is already alive.</summary>
    public void Set(ulong handle, string kind)
    {
        lock (_lock)
        {
            if (_alive.TryAdd(handle, kind))
            {
                var (created, freed) = _byKind.GetValueOrDefault(kind);
                _byKind[kind] = (created + 1, freed);
            }
        }
    }

    /// <summary>A handle freed.</summary>
    public void Destroyed(ulong handle)
    {
        lock (_lock)
        {
            if (_alive.Remove(handle, out var kind))
            {
                var (created, freed) = _byKind[kind];
                _byKind[kind] = (created, freed + 1);
            }
            else
            {
                _freedFromBefore++;
            }
        }
    }

    /// <summary>The counts now, by kind (ordinal order), and the handles from before the trace freed since.</summary>
    public (IReadOnlyList<(string Kind, long Created, long Freed)> Kinds, long FreedFromBefore) Snapshot()
    {
        lock (_lock)
        {
            return ([.. _byKind.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => (k.Key, k.Value.Created, k.Value.Freed))], _freedFromBefore);
        }
    }

    /// <summary>
    /// A Markdown table of the handles by kind at <paramref name="middle"/> (half-way through the run) and at
    /// <paramref name="end"/>: alive means created since the trace started and not freed.
    /// </summary>
    public static IReadOnlyList<string> Table((IReadOnlyList<(string Kind, long Created, long Freed)> Kinds, long FreedFromBefore) middle, (IReadOnlyList<(string Kind, long Created, long Freed)> Kinds, long FreedFromBefore) end)
    {
        static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
        var half = middle.Kinds.ToDictionary(k => k.Kind, StringComparer.Ordinal);
        return
        [
            "| GC handles by kind (handle events since the trace started) | created | freed | alive half-way | alive at the end | second half |",
            "|---|---:|---:|---:|---:|---:|",
            .. end.Kinds.Select(k =>
            {
                var mid = half.TryGetValue(k.Kind, out var m) ? m.Created - m.Freed : 0;
                var alive = k.Created - k.Freed;
                return $"| {k.Kind} | {N(k.Created)} | {N(k.Freed)} | {N(mid)} | {N(alive)} | {(alive - mid >= 0 ? "+" : "")}{N(alive - mid)} |";
            }),
            $"| created before the trace, freed during it | | {N(end.FreedFromBefore)} | {N(middle.FreedFromBefore)} | {N(end.FreedFromBefore)} | |",
        ];
    }
}
