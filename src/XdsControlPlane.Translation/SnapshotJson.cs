using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Translation;

/// <summary>
/// The JSON view of what node groups are served — <c>{"groups": {"gateway": {"version", "resources": {"CDS":
/// {name: {"version", "resource"}}}}}}</c> — shared by the server's <c>/debug/snapshot</c> and <c>sandboxctl render</c>.
/// <see cref="Document"/> builds it as a tree; <see cref="WriteAsync"/> streams the same text one resource at a time.
/// Secrets (SDS) are listed by name and version, their contents redacted.
/// </summary>
public static class SnapshotJson
{
    /// <summary>Buffered output beyond this many bytes is flushed to the stream after the resource that passed it.</summary>
    private const int FlushThreshold = 32 * 1024;

    /// <summary>Indented, non-ASCII and HTML-sensitive characters as they are: what <c>/debug/snapshot</c> has always printed.</summary>
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true, // the structure is ours; resources come from JsonDocument
    };

    /// <summary>
    /// Writes the document <see cref="Document"/> builds, indented (as <c>JsonSerializerOptions { WriteIndented = true,
    /// Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }</c> prints it) with a final newline,
    /// to <paramref name="output"/> one resource at a time: what is buffered is flushed whenever it passes 32 KiB, so
    /// memory stays at about one resource however large the snapshot (a slow reader holds back the writer rather
    /// than the document piling up). Between flushes it yields, so a few large writes do not hold a thread pool
    /// thread for long.
    /// </summary>
    public static async Task WriteAsync(Stream output, IEnumerable<(string Group, Snapshot Snapshot, DateTimeOffset? PublishedAt)> groups, bool withResources, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(groups);
        var writer = new Utf8JsonWriter(output, WriterOptions);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("groups");
            foreach (var (name, snapshot, publishedAt) in groups.OrderBy(g => g.Group, StringComparer.Ordinal))
            {
                writer.WriteStartObject(name);
                writer.WriteString("version", snapshot.Version);
                if (publishedAt is { } at)
                {
                    writer.WriteString("publishedAt", at.ToString("O", CultureInfo.InvariantCulture));
                }

                writer.WriteStartObject("resources");
                foreach (var typeUrl in TypeUrls.PushOrder)
                {
                    var resources = snapshot.Resources(typeUrl);
                    if (resources.Count == 0)
                    {
                        continue;
                    }

                    writer.WriteStartObject(TypeUrls.ShortName(typeUrl));
                    foreach (var resource in resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
                    {
                        writer.WriteStartObject(resource.Name);
                        writer.WriteString("version", resource.Version);
                        if (withResources)
                        {
                            writer.WritePropertyName("resource");
                            using var json = JsonDocument.Parse(Shown(resource));
                            json.RootElement.WriteTo(writer);
                        }

                        writer.WriteEndObject();
                        if (writer.BytesPending >= FlushThreshold)
                        {
                            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                            await Task.Yield();
                        }
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await output.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A resource as protobuf JSON, except a secret (SDS): its contents — a private key — are never shown, only its name
    /// (the version beside it says when it changed).
    /// </summary>
    private static string Shown(XdsResource resource) => resource.TypeUrl == TypeUrls.Secret
        ? new JsonObject { ["name"] = resource.Name, ["redacted"] = "secret contents are not shown" }.ToJsonString()
        : ResourceJson.Format(resource);

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
                    item["resource"] = JsonNode.Parse(Shown(resource));
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
