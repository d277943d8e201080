using System.Globalization;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Testing;

/// <summary>
/// Lists in pages, as the API server does for <c>?limit=N</c>: the first page takes a snapshot of the selected objects
/// and the list's resource version, and hands out a <c>continue</c> token; every later page is served from that
/// snapshot, so a list read in pages is consistent however the objects change in between.
/// </summary>
internal sealed partial class FakeApiServer
{
    private readonly Dictionary<string, (string Version, JsonObject[] Items)> _listSnapshots = new(StringComparer.Ordinal);
    private int _listSnapshotIds;

    /// <summary>How many list pages were served with a <c>continue</c> token (the pages after the first).</summary>
    public int ContinuedListPages { get; private set; }

    /// <summary>One page (or, with no limit, all) of the objects of <paramref name="path"/>; call under <c>_gate</c>.</summary>
    private (string Version, IEnumerable<JsonNode> Items, string? Continue) ListPage(string path, Func<JsonObject, bool> selected, string continued, int limit)
    {
        string version;
        JsonObject[] items;
        var offset = 0;
        if (continued.Length > 0)
        {
            var separator = continued.LastIndexOf(':');
            var id = continued[..separator];
            offset = int.Parse(continued[(separator + 1)..], CultureInfo.InvariantCulture);
            (version, items) = _listSnapshots[id];
            ContinuedListPages++;
            if (offset + limit >= items.Length)
            {
                _listSnapshots.Remove(id);
            }
        }
        else
        {
            version = _version.ToString(CultureInfo.InvariantCulture);
            items = [.. _objects[path].Values.Where(selected).Select(o => o.DeepClone().AsObject())];
            if (limit <= 0 || items.Length <= limit)
            {
                return (version, items, null);
            }

            _listSnapshots[(++_listSnapshotIds).ToString(CultureInfo.InvariantCulture)] = (version, items);
            continued = _listSnapshotIds.ToString(CultureInfo.InvariantCulture) + ":0";
        }

        var page = items.Skip(offset).Take(limit);
        var next = offset + limit < items.Length ? $"{continued[..continued.LastIndexOf(':')]}:{offset + limit}" : null;
        return (version, page, next);
    }
}
