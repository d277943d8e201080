using System.CommandLine;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// <c>sandboxctl preview list|open|share|revoke</c>: preview URLs of Sandboxes and LocalWorkloads, and the
/// PreviewGrants that open them (created with the caller's own credentials; the token is printed once, only its hash
/// is stored). Each action is a thin adapter over <see cref="PreviewActions"/>.
/// </summary>
internal static class PreviewCommands
{
    /// <summary>The default <c>--ttl</c> of <c>open</c>: a working day.</summary>
    public static readonly TimeSpan OpenTtl = TimeSpan.FromHours(12);

    /// <summary>The default <c>--ttl</c> of <c>share</c>.</summary>
    public static readonly TimeSpan ShareTtl = TimeSpan.FromHours(2);

    public static Command Build(Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var command = new Command("preview", "Preview URLs of Sandboxes and LocalWorkloads: list them, open one with a token, share one, revoke grants.");
        command.Subcommands.Add(List(new PreviewOptions(), output, outputOf, cluster));
        command.Subcommands.Add(Open(new PreviewOptions(), output, outputOf, cluster));
        command.Subcommands.Add(Share(new PreviewOptions(), output, outputOf, cluster));
        command.Subcommands.Add(Revoke(new PreviewOptions(), output, outputOf, cluster));
        return command;
    }

    private static Command List(PreviewOptions options, Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var sandbox = PreviewOptions.SandboxArgument("Only this Sandbox's previews and grants.");
        var list = new Command("list", "List the previews of the namespace's Sandboxes and LocalWorkloads (URL, access) and the grants that open them (never a token).") { sandbox, options.LocalWorkload };
        AddAll(list, options.StoreOptions);
        list.Aliases.Add("ls");
        list.SetAction((parse, ct) =>
        {
            var store = options.Store(parse, cluster, needsUrls: false);
            var owner = options.Owner(parse, sandbox, store.Namespace, required: false);
            return new PreviewActions(outputOf(parse), store, parse.GetValue(output), TimeProvider.System).ListAsync(owner, ct);
        });
        return list;
    }

    private static Command Open(PreviewOptions options, Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var sandbox = PreviewOptions.SandboxArgument("The Sandbox whose preview to open.");
        var ttl = DurationOption.Create("--ttl", "How long the grant (and so the link) opens the owner's previews: 1m to 720h.", OpenTtl, PreviewGrantMint.Ttl);
        var qr = new Option<bool>("--qr") { Description = "Also print the link as a QR code (to open it on a phone)." };
        var noBrowser = new Option<bool>("--no-browser") { Description = "Do not open a browser (none is opened in CI, with -o json|yaml, or when stdout is not a terminal)." };
        var open = new Command("open", "Create a grant for every preview of a Sandbox or LocalWorkload with your credentials and open one preview's URL with its first-visit token.")
        {
            sandbox, options.LocalWorkload, options.Service, options.Port, ttl, qr, noBrowser,
        };
        AddAll(open, options.StoreOptions);
        open.SetAction((parse, ct) =>
        {
            var request = Request(parse, options, sandbox, cluster);
            var actions = new PreviewActions(outputOf(parse), request.Store, parse.GetValue(output), TimeProvider.System);
            return actions.MintAsync(request.Owner, request.Service, request.Port, parse.GetValue(ttl), description: null, narrow: false, parse.GetValue(qr), parse.GetValue(noBrowser), ct);
        });
        return open;
    }

    private static Command Share(PreviewOptions options, Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var sandbox = PreviewOptions.SandboxArgument("The Sandbox whose preview to share.");
        var ttl = DurationOption.Create("--ttl", "How long the share link works: 1m to 720h (30 days).", ShareTtl, PreviewGrantMint.Ttl);
        var description = new Option<string?>("--description") { Description = $"A note shown by preview list (who it is for), at most {PreviewGrantMint.MaxDescriptionLength} characters." };
        var qr = new Option<bool>("--qr") { Description = "Also print the link as a QR code." };
        var share = new Command("share", "Create a share link for one preview: a grant narrowed to that preview, expiring after --ttl, usable by people without a cluster account.")
        {
            sandbox, options.LocalWorkload, options.Service, options.Port, ttl, description, qr,
        };
        AddAll(share, options.StoreOptions);
        share.SetAction((parse, ct) =>
        {
            var note = parse.GetValue(description);
            if (PreviewGrantMint.DescriptionProblem(note) is { } problem)
            {
                throw PreviewOptions.Usage(problem);
            }

            var request = Request(parse, options, sandbox, cluster);
            var actions = new PreviewActions(outputOf(parse), request.Store, parse.GetValue(output), TimeProvider.System);
            return actions.MintAsync(request.Owner, request.Service, request.Port, parse.GetValue(ttl), note, narrow: true, parse.GetValue(qr), noBrowser: true, ct);
        });
        return share;
    }

    private static Command Revoke(PreviewOptions options, Option<OutputFormat> output, Func<ParseResult, CliOutput> outputOf, ClusterConnection cluster)
    {
        var names = new Argument<string[]>("grant") { Description = "The grants to revoke (names from preview list); with --all, at most one: the Sandbox whose grants to revoke.", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Revoke every grant of the namespace, or of the Sandbox named (or --local-workload)." };
        var revoke = new Command("revoke", "Delete grants: the server refuses their tokens and cookies from then on.") { names, all, options.LocalWorkload };
        AddAll(revoke, options.StoreOptions);
        revoke.SetAction((parse, ct) =>
        {
            var given = parse.GetValue(names) ?? [];
            var store = options.Store(parse, cluster, needsUrls: false);
            var actions = new PreviewActions(outputOf(parse), store, parse.GetValue(output), TimeProvider.System);
            if (!parse.GetValue(all))
            {
                if (given.Length == 0)
                {
                    throw PreviewOptions.Usage("name the grants to revoke (GRANT..., from sandboxctl preview list), or pass --all.");
                }

                if (parse.GetValue(options.LocalWorkload) is not null)
                {
                    throw PreviewOptions.Usage("--local-workload is only used with --all (to revoke that LocalWorkload's grants).");
                }

                foreach (var name in given)
                {
                    PreviewOptions.CheckName("GRANT", name, label: false);
                }

                return actions.RevokeAsync([.. given.Distinct(StringComparer.Ordinal)], ct);
            }

            if (given.Length > 1)
            {
                throw PreviewOptions.Usage("--all takes at most one SANDBOX (whose grants to revoke), not grant names.");
            }

            var sandbox = given.Length == 1 ? given[0] : null;
            var workload = parse.GetValue(options.LocalWorkload);
            if (sandbox is not null && workload is not null)
            {
                throw PreviewOptions.Usage("name either a Sandbox or --local-workload with --all, not both.");
            }

            PreviewOwner? owner = null;
            if (sandbox is not null || workload is not null)
            {
                PreviewOptions.CheckName(sandbox is null ? "--local-workload" : "SANDBOX", sandbox ?? workload!, label: false);
                owner = new PreviewOwner(sandbox is null ? LocalWorkload.KindName : Sandbox.KindName, store.Namespace, sandbox ?? workload!);
            }

            return actions.RevokeAllAsync(owner, ct);
        });
        return revoke;
    }

    /// <summary>The store, owner and preview flags of open and share, checked.</summary>
    private static (IPreviewStore Store, PreviewOwner Owner, string? Service, int? Port) Request(ParseResult parse, PreviewOptions options, Argument<string?> sandbox, ClusterConnection cluster)
    {
        var service = options.ServiceOf(parse);
        var store = options.Store(parse, cluster, needsUrls: parse.GetValue(options.LocalWorkload) is null);
        var owner = options.Owner(parse, sandbox, store.Namespace, required: true)!;
        return (store, owner, service, parse.GetValue(options.Port));
    }

    private static void AddAll(Command command, IEnumerable<Option> options)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }
    }
}
