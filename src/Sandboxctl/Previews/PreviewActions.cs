using Spectre.Console;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// What <c>preview list|open|share|revoke</c> do with a store, and how they print it: a table or sentences for people,
/// or one JSON/YAML document (<see cref="PreviewDocuments"/>). Tokens appear only in what open and share print.
/// </summary>
internal sealed class PreviewActions(CliOutput cli, IPreviewStore store, OutputFormat format, TimeProvider clock)
{
    /// <summary>Lists the namespace's previews and grants (only <paramref name="owner"/>'s when given).</summary>
    public async Task<int> ListAsync(PreviewOwner? owner, CancellationToken cancellationToken)
    {
        var previews = owner is null ? await store.AllPreviewsAsync(cancellationToken).ConfigureAwait(false) : await store.PreviewsOfAsync(owner, cancellationToken).ConfigureAwait(false);
        var grants = (await store.GrantsAsync(cancellationToken).ConfigureAwait(false)).Where(g => owner is null || g.Owner == owner).OrderBy(g => g.Name, StringComparer.Ordinal).ToArray();
        var now = clock.GetUtcNow();
        if (format != OutputFormat.Table)
        {
            cli.Write(PreviewDocuments.List(store.Namespace, previews, grants, now), format);
            return ExitCodes.Ok;
        }

        if (previews.Count == 0)
        {
            cli.WriteText($"No previews in namespace {store.Namespace}{(owner is null ? "" : $" for {owner}")}.\n");
        }
        else
        {
            var table = new Table().AddColumns("OWNER", "SERVICE", "PORT", "ACCESS", "URL");
            foreach (var preview in previews.OrderBy(p => p.Owner.Kind, StringComparer.Ordinal).ThenBy(p => p.Owner.Name, StringComparer.Ordinal).ThenBy(p => p.Service, StringComparer.Ordinal).ThenBy(p => p.Port))
            {
                table.AddRow([.. new[] { OwnerText(preview.Owner), preview.Service, preview.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), preview.Access, preview.Url ?? "-" }.Select(Cell)]);
            }

            cli.Console.Write(table);
        }

        if (grants.Length == 0)
        {
            cli.WriteText($"No PreviewGrants in namespace {store.Namespace}{(owner is null ? "" : $" for {owner}")}.\n");
            return ExitCodes.Ok;
        }

        var grantTable = new Table().AddColumns("GRANT", "OWNER", "PREVIEW", "EXPIRES", "CREATED BY", "DESCRIPTION");
        foreach (var grant in grants)
        {
            grantTable.AddRow([.. new[]
            {
                grant.Name,
                grant.Owner is { } o ? OwnerText(o) : "-",
                grant.Preview is { } p ? $"{p.Service}:{p.Port}" : "all",
                grant.Expiry is { } expiry ? (expiry <= now ? "expired" : "in " + Short(expiry - now)) : "invalid",
                grant.CreatedBy ?? "-",
                grant.Description ?? "",
            }.Select(Cell)]);
        }

        cli.Console.Write(grantTable);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// <c>open</c> (every preview of the owner, <paramref name="narrow"/> false) and <c>share</c> (one preview): picks the
    /// preview, creates the grant, prints the link with its token, and optionally a QR code and a browser.
    /// </summary>
    public async Task<int> MintAsync(PreviewOwner owner, string? service, int? port, TimeSpan ttl, string? description, bool narrow, bool qr, bool noBrowser, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var previews = await store.PreviewsOfAsync(owner, cancellationToken).ConfigureAwait(false);
        var chosen = PreviewChoice.Select(owner, previews, service, port);
        string? grantName = null;
        string? token = null;
        string? expiresAt = null;
        if (!chosen.IsPublic)
        {
            var target = narrow ? new PreviewTarget { Service = chosen.Service, Port = chosen.Port } : null;
            var minted = PreviewGrantMint.Mint(owner, target, ttl, clock.GetUtcNow(), description);
            grantName = await store.CreateGrantAsync(minted.Grant, cancellationToken).ConfigureAwait(false);
            token = minted.Token;
            expiresAt = minted.Grant.Spec.ExpiresAt;
        }

        var link = token is null ? chosen.Url! : PreviewGrantMint.Link(chosen.Url!, token);
        if (format != OutputFormat.Table)
        {
            cli.Write(PreviewDocuments.Minted(store.Namespace, chosen, grantName, narrow, expiresAt, token, link), format);
        }
        else
        {
            cli.WriteText(MintedText(chosen, grantName, narrow, expiresAt, ttl) + "  " + link + "\n");
        }

        if (qr)
        {
            // Beside JSON or YAML the code goes to stderr, so stdout stays one document.
            var code = QrCodeText.Render(link);
            if (format == OutputFormat.Table)
            {
                cli.WriteText(code);
            }
            else
            {
                await cli.Error.WriteAsync(code).ConfigureAwait(false);
            }
        }

        if (!narrow)
        {
            await OpenBrowserAsync(link, noBrowser).ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Deletes the grants named; a missing one is reported and the others still go (exit 1 then).</summary>
    public async Task<int> RevokeAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var revoked = new List<string>();
        var failures = new List<CliException>();
        foreach (var name in names)
        {
            try
            {
                await store.DeleteGrantAsync(name, cancellationToken).ConfigureAwait(false);
                revoked.Add(name);
                if (format == OutputFormat.Table)
                {
                    cli.WriteText($"previewgrant.sandboxctl.io/{name} revoked\n");
                }
            }
            catch (CliException e) when (e.ExitCode == ExitCodes.UserError)
            {
                // One grant that is gone already (or not yours to delete) does not keep the others alive.
                failures.Add(e);
                cli.Problem(e.Message);
            }
        }

        if (format != OutputFormat.Table)
        {
            cli.Write(PreviewDocuments.Revoked(store.Namespace, revoked), format);
        }

        return failures.Count == 0
            ? ExitCodes.Ok
            : throw new CliException($"{failures.Count} of {names.Count} grant(s) not revoked.", failures[0].Hint, ExitCodes.UserError);
    }

    /// <summary>Deletes every grant of the namespace, or of <paramref name="owner"/>.</summary>
    public async Task<int> RevokeAllAsync(PreviewOwner? owner, CancellationToken cancellationToken)
    {
        var grants = (await store.GrantsAsync(cancellationToken).ConfigureAwait(false)).Where(g => owner is null || g.Owner == owner).Select(g => g.Name).Order(StringComparer.Ordinal).ToArray();
        if (grants.Length == 0 && format == OutputFormat.Table)
        {
            cli.WriteText($"No PreviewGrants to revoke in namespace {store.Namespace}{(owner is null ? "" : $" for {owner}")}.\n");
            return ExitCodes.Ok;
        }

        return await RevokeAsync(grants, cancellationToken).ConfigureAwait(false);
    }

    private async Task OpenBrowserAsync(string link, bool noBrowser)
    {
        var terminal = ReferenceEquals(cli.Console.Profile.Out.Writer, Console.Out) && !Console.IsOutputRedirected;
        var choice = BrowserLauncher.DecideHere(noBrowser || format != OutputFormat.Table, terminal);
        if (choice.Program is { } program)
        {
            var failed = BrowserLauncher.Open(program, link);
            await cli.Error.WriteLineAsync(failed is null ? $"Opened it in your browser ({program})." : $"Could not open a browser ({failed}); open the link above.").ConfigureAwait(false);
        }
    }

    private static string MintedText(PreviewEntry chosen, string? grant, bool narrow, string? expiresAt, TimeSpan ttl)
    {
        var preview = $"{PreviewChoice.Describe(chosen)} of {chosen.Owner}";
        if (grant is null)
        {
            return $"The preview {preview} is public: anyone with the URL can open it, no grant was created.\n";
        }

        var until = $"until {expiresAt} ({GoDuration.Format(ttl)})";
        return narrow
            ? $"previewgrant.sandboxctl.io/{grant} created: share link for {preview}, {until}.\nAnyone with this link can open that preview until then (revoke it: sandboxctl preview revoke {grant}):\n"
            : $"previewgrant.sandboxctl.io/{grant} created: every preview of {chosen.Owner}, {until} (revoke it: sandboxctl preview revoke {grant}).\nOpen {PreviewChoice.Describe(chosen)} ({chosen.Access}) with this link; its first visit sets a cookie for that host:\n";
    }

    /// <summary>A table cell: Spectre markup escaped, and control characters (from objects anyone may have written) shown as <c>?</c>.</summary>
    private static string Cell(string text) => Markup.Escape(string.Concat(text.Select(c => char.IsControl(c) ? '?' : c)));

    private static string OwnerText(PreviewOwner owner) => (owner.IsLocalWorkload ? "localworkload/" : "sandbox/") + owner.Name;

    private static string Short(TimeSpan span) =>
        span.TotalMinutes < 120 ? $"{Math.Max(1, (int)span.TotalMinutes)}m" : span.TotalHours < 48 ? $"{(int)span.TotalHours}h" : $"{(int)span.TotalDays}d";
}
