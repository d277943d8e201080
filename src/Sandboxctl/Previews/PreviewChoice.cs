using System.Globalization;

namespace Sandboxctl.Previews;

/// <summary>
/// Picks the preview <c>preview open|share</c> prints a link to, from the owner's previews and the <c>--service</c> and
/// <c>--port</c> flags; refuses with what to fix when there is none, several, or no URL yet. Pure.
/// </summary>
internal static class PreviewChoice
{
    /// <summary>The one preview of <paramref name="previews"/> that <paramref name="service"/> and <paramref name="port"/> (each optional) select.</summary>
    public static PreviewEntry Select(PreviewOwner owner, IReadOnlyList<PreviewEntry> previews, string? service, int? port)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(previews);
        if (previews.Count == 0)
        {
            throw new CliException(
                $"{owner} has no previews.",
                $"Add one to its spec.previews (service, port, access: public|shared|personal) and apply it again; see: {owner.Command}",
                ExitCodes.UserError);
        }

        var matching = previews.Where(p => (service is null || p.Service == service) && (port is null || p.Port == port)).ToArray();
        var known = string.Join(", ", previews.Select(Describe));
        if (matching.Length == 0)
        {
            var wanted = (service, port) switch
            {
                (not null, not null) => $"of Service {service} port {port}",
                (not null, null) => $"of Service {service}",
                _ => $"on port {port}",
            };
            throw new CliException($"{owner} has no preview {wanted}; it has {known}.", "Pick one with --service and --port, or add it to the owner's spec.previews.", ExitCodes.UserError);
        }

        if (matching.Length > 1)
        {
            throw new CliException($"{owner} has {matching.Length} previews{(service is null && port is null ? "" : " that match")}: {string.Join(", ", matching.Select(Describe))}.", "Pick one with --service and --port.", ExitCodes.UserError);
        }

        var chosen = matching[0];
        if (chosen.Url is null)
        {
            throw new CliException(
                $"the preview {Describe(chosen)} of {owner} has no URL yet (its status.previews does not list it).",
                $"The control plane reports preview URLs when it runs with --preview-domain and has seen the {owner.Kind}; check its status: {owner.Command}",
                ExitCodes.UserError);
        }

        return chosen;
    }

    /// <summary><c>cart:8080</c>.</summary>
    public static string Describe(PreviewEntry preview) => preview.Service + ":" + preview.Port.ToString(CultureInfo.InvariantCulture);
}
