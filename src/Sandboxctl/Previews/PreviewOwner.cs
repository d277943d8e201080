using System.Text.Json.Nodes;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>The Sandbox or LocalWorkload whose previews a command is about.</summary>
/// <param name="Kind"><see cref="Sandbox.KindName"/> or <see cref="LocalWorkload.KindName"/>.</param>
/// <param name="Namespace">Its namespace (the grants' too).</param>
/// <param name="Name">Its name.</param>
internal sealed record PreviewOwner(string Kind, string Namespace, string Name)
{
    /// <summary>Whether it is a LocalWorkload.</summary>
    public bool IsLocalWorkload => Kind == LocalWorkload.KindName;

    /// <summary>The command that shows or changes it, for hints.</summary>
    public string Command => IsLocalWorkload ? "sandboxctl local status" : $"sandboxctl sandbox get {Name}";

    /// <summary>The owner a grant names (<c>spec.sandbox</c> or <c>spec.localWorkload</c>), or null when it names neither.</summary>
    public static PreviewOwner? Of(PreviewGrant grant) =>
        grant.Spec.Sandbox is { Length: > 0 } sandbox ? new(Sandbox.KindName, grant.Metadata.Namespace, sandbox)
        : grant.Spec.LocalWorkload is { Length: > 0 } workload ? new(LocalWorkload.KindName, grant.Metadata.Namespace, workload)
        : null;

    /// <inheritdoc />
    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}

/// <summary>One preview of an owner: declared in its spec, and the URL its status reports (null until the control plane serves it).</summary>
/// <param name="Owner">Whose preview it is.</param>
/// <param name="Service">The previewed Service, as the spec names it.</param>
/// <param name="Port">Its port.</param>
/// <param name="Access"><c>public</c>, <c>shared</c> or <c>personal</c>.</param>
/// <param name="Url">The URL to open, or null when no status reports one yet.</param>
internal sealed record PreviewEntry(PreviewOwner Owner, string Service, int Port, string Access, string? Url)
{
    /// <summary>Whether anyone may open it without a token.</summary>
    public bool IsPublic => Access == Preview.Public;

    /// <summary>The most previews read from one object (the model allows far fewer); the rest of a hostile list is ignored.</summary>
    public const int MaxPerOwner = 256;

    /// <summary>
    /// The previews of an owner as the API server returns it: each <c>spec.previews[]</c> (a LocalWorkload's name only a
    /// port: their Service is its <c>spec.service</c>), with the URL of the <c>status.previews[]</c> entry for the same
    /// Service and port (entries the spec does not declare are shown too: the status is the control plane's word).
    /// Malformed entries are skipped, never fatal.
    /// </summary>
    public static IReadOnlyList<PreviewEntry> FromObject(PreviewOwner owner, JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(obj);
        var ownService = owner.IsLocalWorkload ? Text(obj["spec"]?["service"]) : null;
        var entries = new List<PreviewEntry>();
        foreach (var declared in Items(obj["spec"]?["previews"]))
        {
            if (Target(declared, ownService) is var (service, port) && !entries.Any(e => e.Service == service && e.Port == port))
            {
                entries.Add(new PreviewEntry(owner, service, port, Text(declared["access"]) ?? Preview.Personal, null));
            }
        }

        foreach (var reported in Items(obj["status"]?["previews"]))
        {
            if (Target(reported, ownService) is not var (service, port) || Text(reported["url"]) is not { } url || !IsHttpUrl(url))
            {
                continue;
            }

            var index = entries.FindIndex(e => e.Service == service && e.Port == port);
            var access = Text(reported["access"]) ?? (index >= 0 ? entries[index].Access : Preview.Personal);
            var entry = new PreviewEntry(owner, service, port, access, url);
            if (index >= 0)
            {
                entries[index] = entry;
            }
            else if (entries.Count < MaxPerOwner)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>Whether <paramref name="url"/> is an absolute http(s) URL without a fragment or control characters (it is printed to a terminal), so <c>?token=</c> can be added.</summary>
    public static bool IsHttpUrl(string url) =>
        url.Length <= 2048 && !url.Any(char.IsControl) && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && uri.Fragment.Length == 0;

    private static IEnumerable<JsonObject> Items(JsonNode? node) => node is JsonArray array ? array.OfType<JsonObject>().Take(MaxPerOwner) : [];

    private static (string Service, int Port)? Target(JsonObject item, string? ownService) =>
        (Text(item["service"]) ?? ownService) is { } service && SchemaPatterns.IsServiceReference(service)
        && item["port"] is JsonValue value && value.TryGetValue<int>(out var port) && port is >= 1 and <= 65535
            ? (service, port)
            : null;

    private static string? Text(JsonNode? node) => JsonFields.Text(node);
}
