namespace XdsControlPlane.Model;

/// <summary>
/// One preview of a Sandbox or LocalWorkload with its host name: what translation makes a gateway virtual host of and
/// what the owner's <c>status.previews[]</c> lists, computed in one place (<see cref="Of(Sandbox, string?, string)"/>)
/// so the URL in the status is the host the gateway answers. Pure.
/// </summary>
/// <param name="OwnerKind"><see cref="Sandbox.KindName"/> or <see cref="LocalWorkload.KindName"/>.</param>
/// <param name="Namespace">The owner's namespace.</param>
/// <param name="OwnerName">The owner's name.</param>
/// <param name="Service">The previewed Service as the owner names it (<c>cart</c> or <c>cart.shop</c>).</param>
/// <param name="Port">The previewed port.</param>
/// <param name="Access"><see cref="Preview.Public"/>, <see cref="Preview.Shared"/> or <see cref="Preview.Personal"/>.</param>
/// <param name="Host">The host name (<see cref="PreviewHostNames.Host"/>).</param>
public sealed record PreviewSite(string OwnerKind, string Namespace, string OwnerName, string Service, int Port, string Access, string Host)
{
    /// <summary>What the owner's status lists for it.</summary>
    public PreviewStatus Status => new() { Service = Service, Port = Port, Url = PreviewHostNames.Url(Host), Access = Access };

    /// <summary>
    /// The previews of <paramref name="sandbox"/> under <paramref name="previewDomain"/> (none when it is empty: previews
    /// are off), in spec order. Entries validation would reject (no Service, a port out of range, an unknown access
    /// level, a repeat of an earlier Service and port) are left out rather than guessed at.
    /// </summary>
    public static IReadOnlyList<PreviewSite> Of(Sandbox sandbox, string? previewDomain, string salt)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        return Sites(sandbox.Kind, sandbox.Metadata, (sandbox.Spec.Previews ?? []).Select(p => (p?.Service, p?.Port ?? 0, p?.Access)), previewDomain, salt);
    }

    /// <summary>The previews of <paramref name="workload"/> (of its own <c>spec.service</c>), as <see cref="Of(Sandbox, string?, string)"/>.</summary>
    public static IReadOnlyList<PreviewSite> Of(LocalWorkload workload, string? previewDomain, string salt)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return Sites(workload.Kind, workload.Metadata, (workload.Spec.Previews ?? []).Select(p => ((string?)workload.Spec.Service, p?.Port ?? 0, p?.Access)), previewDomain, salt);
    }

    private static PreviewSite[] Sites(string kind, ObjectMeta owner, IEnumerable<(string? Service, int Port, string? Access)> previews, string? previewDomain, string salt)
    {
        ArgumentNullException.ThrowIfNull(salt);
        if (string.IsNullOrEmpty(previewDomain))
        {
            return [];
        }

        var sites = new List<PreviewSite>();
        var seen = new HashSet<(string, int)>();
        foreach (var (service, port, access) in previews.Take(ModelLimits.MaxPreviews))
        {
            if (string.IsNullOrEmpty(service) || !SchemaPatterns.IsServiceReference(service) || port is < 1 or > 65535
                || access is not (Preview.Public or Preview.Shared or Preview.Personal) || !seen.Add((service, port)))
            {
                continue;
            }

            sites.Add(new PreviewSite(kind, owner.Namespace, owner.Name, service, port, access,
                PreviewHostNames.Host(kind, owner.Namespace, owner.Name, service, port, salt, previewDomain)));
        }

        return [.. sites];
    }
}
