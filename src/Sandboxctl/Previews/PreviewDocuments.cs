using System.Text.Json.Nodes;

namespace Sandboxctl.Previews;

/// <summary>
/// The documents <c>preview … -o json|yaml</c> prints (docs/sandboxctl.md#preview): one object per command, camelCase,
/// absent values as null. Only <see cref="Minted"/> carries a token. Pure.
/// </summary>
internal static class PreviewDocuments
{
    /// <summary><c>preview list</c>: <c>{namespace, previews: [...], grants: [...]}</c>.</summary>
    public static JsonObject List(string ns, IEnumerable<PreviewEntry> previews, IEnumerable<GrantView> grants, DateTimeOffset now) => new()
    {
        ["namespace"] = ns,
        ["previews"] = new JsonArray([.. previews.Select(p => (JsonNode)Preview(p))]),
        ["grants"] = new JsonArray([.. grants.Select(g => (JsonNode)new JsonObject
        {
            ["name"] = g.Name,
            ["owner"] = g.Owner is { } owner ? Owner(owner) : null,
            ["preview"] = g.Preview is { } target ? new JsonObject { ["service"] = target.Service, ["port"] = target.Port } : null,
            ["expiresAt"] = g.ExpiresAt,
            ["live"] = g.IsLive(now),
            ["createdBy"] = g.CreatedBy,
            ["description"] = g.Description,
        })]),
    };

    /// <summary>
    /// <c>preview open|share</c>: the grant (null for a public preview, which needs none), its scope, the preview, the
    /// expiry, the token and the link with it.
    /// </summary>
    public static JsonObject Minted(string ns, PreviewEntry preview, string? grant, bool narrow, string? expiresAt, string? token, string link) => new()
    {
        ["namespace"] = ns,
        ["grant"] = grant,
        ["owner"] = Owner(preview.Owner),
        ["scope"] = grant is null ? null : narrow ? "preview" : "owner",
        ["preview"] = Preview(preview),
        ["expiresAt"] = expiresAt,
        ["token"] = token,
        ["link"] = link,
    };

    /// <summary><c>preview revoke</c>: the grants deleted.</summary>
    public static JsonObject Revoked(string ns, IEnumerable<string> names) => new()
    {
        ["namespace"] = ns,
        ["revoked"] = new JsonArray([.. names.Select(n => (JsonNode)n)]),
    };

    private static JsonObject Owner(PreviewOwner owner) => new() { ["kind"] = owner.Kind, ["name"] = owner.Name };

    private static JsonObject Preview(PreviewEntry preview) => new()
    {
        ["owner"] = Owner(preview.Owner),
        ["service"] = preview.Service,
        ["port"] = preview.Port,
        ["access"] = preview.Access,
        ["url"] = preview.Url,
    };
}
