using System.Globalization;
using System.Text.Json.Serialization;

namespace XdsControlPlane.Model;

/// <summary>
/// <c>sandboxctl.io/v1alpha1 PreviewGrant</c>: access to the preview URLs of one Sandbox or LocalWorkload (or to one of
/// them), for whoever presents the token whose hash it holds, until it expires. Created by <c>sandboxctl preview
/// open|share</c> with the caller's own credentials, so the cluster's RBAC decides who may mint in a namespace; who
/// created it is recorded by the admission webhook from the API server's <c>userInfo</c>, never from a field the client
/// writes. Deleting it revokes every token and cookie it backs.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[CustomResource("previewgrants", "pvg")]
[PrinterColumn("Sandbox", "string", ".spec.sandbox")]
[PrinterColumn("Workload", "string", ".spec.localWorkload")]
[PrinterColumn("Expires", "date", ".spec.expiresAt")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed record PreviewGrant : IManifestObject
{
    /// <summary>The kind name.</summary>
    public const string KindName = "PreviewGrant";

    /// <summary>Always <see cref="ApiVersions.Sandboxctl"/>.</summary>
    public string ApiVersion { get; init; } = ApiVersions.Sandboxctl;

    /// <summary>Always <see cref="KindName"/>.</summary>
    public string Kind { get; init; } = KindName;

    /// <inheritdoc />
    public ObjectMeta Metadata { get; init; } = new();

    /// <summary>What it opens, to whom and until when.</summary>
    public PreviewGrantSpec Spec { get; init; } = new();

    /// <inheritdoc />
    [JsonIgnore]
    public ResourceKey Key => new(KindName, Metadata.Namespace, Metadata.Name);

    /// <summary>
    /// <see cref="PreviewGrantSpec.ExpiresAt"/> as an instant, or null when it is not an RFC 3339 timestamp with an
    /// offset (<c>2026-12-06T07:00:00Z</c>). A grant whose expiry cannot be read opens nothing.
    /// </summary>
    [JsonIgnore]
    public DateTimeOffset? Expiry => ParseTimestamp(Spec.ExpiresAt);

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
    ];

    /// <summary><paramref name="value"/> as an instant when it is an RFC 3339 timestamp with an offset (<c>Z</c> or <c>+01:00</c>); else null.</summary>
    public static DateTimeOffset? ParseTimestamp(string? value) =>
        value is { Length: >= 20 and <= 40 }
        && DateTimeOffset.TryParseExact(value, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;

    /// <summary><paramref name="at"/> as <see cref="PreviewGrantSpec.ExpiresAt"/> holds it: UTC, whole seconds, <c>Z</c>.</summary>
    public static string FormatTimestamp(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>The spec of a <see cref="PreviewGrant"/>. Exactly one of <see cref="Sandbox"/> and <see cref="LocalWorkload"/> is given.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[SchemaRule("has(self.sandbox) != has(self.localWorkload)", "exactly one of sandbox or localWorkload")]
[SchemaRule("!has(self.description) || size(self.description) <= 256", "description: at most 256 characters")]
public sealed record PreviewGrantSpec
{
    /// <summary>The longest <see cref="Description"/>.</summary>
    public const int MaxDescriptionLength = 256;

    /// <summary>The Sandbox (in the grant's namespace) whose previews it opens.</summary>
    [SchemaPattern(SchemaPatterns.DnsSubdomain)]
    public string? Sandbox { get; init; }

    /// <summary>The LocalWorkload (in the grant's namespace) whose previews it opens.</summary>
    [SchemaPattern(SchemaPatterns.DnsSubdomain)]
    public string? LocalWorkload { get; init; }

    /// <summary>Narrows the grant to one preview of the owner (a share link is bound to one preview host); all of them when absent.</summary>
    public PreviewTarget? Preview { get; init; }

    /// <summary><c>sha256:</c> and the hex SHA-256 of the token (<see cref="PreviewToken.Hash"/>); the token itself is never stored.</summary>
    [SchemaRequired]
    [SchemaPattern(SchemaPatterns.SecretHash)]
    public string SecretHash { get; init; } = "";

    /// <summary>When it stops opening anything: an RFC 3339 timestamp with an offset (<c>2026-12-06T09:00:00Z</c>).</summary>
    [SchemaRequired]
    public string ExpiresAt { get; init; } = "";

    /// <summary>A note for people listing grants (<c>sandboxctl preview share --description</c>); never used to decide.</summary>
    public string? Description { get; init; }
}

/// <summary>One preview of a Sandbox or LocalWorkload: the previewed Service's port.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PreviewTarget
{
    /// <summary>The previewed Service, as the owner's <c>spec.previews[].service</c> names it.</summary>
    [SchemaRequired]
    [SchemaPattern(SchemaPatterns.ServiceReference)]
    public string Service { get; init; } = "";

    /// <summary>Its port.</summary>
    [SchemaRequired]
    [SchemaRange(1, 65535)]
    public int Port { get; init; }
}
