using System.Globalization;
using System.Text.Json.Nodes;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Translation;

/// <summary>
/// The JSON view of what node groups are served — <c>{"groups": {"gateway": {"version", "resources": {"CDS":
/// {name: {"version", "resource"}}}}}}</c> — shared by the server's <c>/debug/snapshot</c> and <c>sandboxctl render</c>.
/// </summary>
public static class SnapshotJson
{
    /// <summary>One group's entry: snapshot version, optional publication time, and its resources by type and name.</summary>
    public static JsonObject Group(Snapshot snapshot, DateTimeOffset? publishedAt, bool withResources)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var types = new JsonObject();
        foreach (var typeUrl in TypeUrls.PushOrder)
        {
            var items = new JsonObject();
            foreach (var resource in snapshot.Resources(typeUrl).Values.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                var item = new JsonObject { ["version"] = resource.Version };
                if (withResources)
                {
                    item["resource"] = JsonNode.Parse(EnvoyTypeCatalog.JsonFormatter.Format(resource.Message));
                }

                items[resource.Name] = item;
            }

            if (items.Count > 0)
            {
                types[TypeUrls.ShortName(typeUrl)] = items;
            }
        }

        var group = new JsonObject { ["version"] = snapshot.Version };
        if (publishedAt is { } at)
        {
            group["publishedAt"] = at.ToString("O", CultureInfo.InvariantCulture);
        }

        group["resources"] = types;
        return group;
    }

    /// <summary>The whole document for <paramref name="groups"/> (group name → snapshot and publication time).</summary>
    public static JsonObject Document(IEnumerable<(string Group, Snapshot Snapshot, DateTimeOffset? PublishedAt)> groups, bool withResources)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var all = new JsonObject();
        foreach (var (name, snapshot, publishedAt) in groups.OrderBy(g => g.Group, StringComparer.Ordinal))
        {
            all[name] = Group(snapshot, publishedAt, withResources);
        }

        return new JsonObject { ["groups"] = all };
    }
}
