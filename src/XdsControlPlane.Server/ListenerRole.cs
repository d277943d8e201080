using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace XdsControlPlane.Server;

/// <summary>
/// Tags each Kestrel connection with the listener it arrived on, so admin endpoints answer only on the admin
/// port and gRPC services only on the xDS port, whatever ports were actually bound.
/// </summary>
internal static class ListenerRole
{
    public const string Admin = "admin";
    public const string Xds = "xds";
    private const string ItemKey = "xdscp.listener";

    /// <summary>Marks every connection accepted by <paramref name="listen"/> with <paramref name="role"/>.</summary>
    public static void Tag(ListenOptions listen, string role) =>
        listen.Use(next => connection =>
        {
            connection.Items[ItemKey] = role;
            return next(connection);
        });

    /// <summary>The role of the listener the request arrived on, or <see langword="null"/> (test servers).</summary>
    public static string? Of(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ItemKey, out var role) == true ? role as string : null;
}
