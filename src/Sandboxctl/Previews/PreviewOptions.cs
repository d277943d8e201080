using System.CommandLine;
using System.Globalization;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// The flags the <c>preview</c> subcommands share, and what they resolve to: the store (cluster or
/// <c>--manifests</c>), the owner (SANDBOX or <c>--local-workload</c>), the preview (<c>--service</c>, <c>--port</c>).
/// Every refusal names the flag and the reason.
/// </summary>
internal sealed class PreviewOptions
{
    /// <summary>The longest <c>--preview-salt</c>.</summary>
    public const int MaxSaltLength = XdsControlPlane.Translation.TranslationOptions.MaxPreviewSaltLength;

    public Option<DirectoryInfo?> Manifests { get; } = new("--manifests") { Description = "The manifests directory of a control plane run with --manifests DIR (no cluster): grants are written there as files, URLs are computed." };

    public Option<string?> PreviewDomain { get; } = new("--preview-domain") { Description = "With --manifests: the server's --preview-domain, to compute preview URLs (preview.example.com)." };

    public Option<string?> PreviewSalt { get; } = new("--preview-salt") { Description = "With --manifests: the server's preview host salt, to compute preview URLs (default: empty)." };

    public Option<string?> LocalWorkload { get; } = new("--local-workload") { Description = "A LocalWorkload (a laptop connected with local connect) instead of a Sandbox." };

    public Option<string?> Service { get; } = new("--service") { Description = "The previewed Service, as the owner's spec.previews names it." };

    public Option<int?> Port { get; } = new("--port") { Description = "The previewed port (1-65535)." };

    public PreviewOptions()
    {
        Port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } port && port is < 1 or > 65535)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"--port must be from 1 to 65535, got {port}."));
            }
        });
    }

    /// <summary>An optional SANDBOX argument.</summary>
    public static Argument<string?> SandboxArgument(string description) => new("sandbox") { Description = description, Arity = ArgumentArity.ZeroOrOne };

    /// <summary>The flags of a command that reads or writes grants (all but owner and preview selection).</summary>
    public IEnumerable<Option> StoreOptions => [Manifests, PreviewDomain, PreviewSalt];

    /// <summary>
    /// The store the flags select, for the namespace of <c>-n</c> (or the kubeconfig context's). With
    /// <paramref name="needsUrls"/>, <c>--manifests</c> needs <c>--preview-domain</c> to compute a Sandbox's URLs (a
    /// laptop's come from its agent, as the broker named them).
    /// </summary>
    public IPreviewStore Store(ParseResult parse, ClusterConnection cluster, bool needsUrls)
    {
        var domain = parse.GetValue(PreviewDomain);
        var salt = parse.GetValue(PreviewSalt);
        if (parse.GetValue(Manifests) is not { } directory)
        {
            if (domain is not null || salt is not null)
            {
                throw Usage($"{(domain is not null ? "--preview-domain" : "--preview-salt")} is only used with --manifests: in a cluster the owner's status.previews has the URL.");
            }

            var (client, ns) = cluster.Connect(parse);
            CheckName("-n", ns, label: true);
            return new ClusterPreviewStore(client, ns);
        }

        if (domain is not null && !(SchemaPatterns.IsDnsSubdomain(domain.TrimEnd('.')) && domain.Contains('.', StringComparison.Ordinal)))
        {
            throw Usage($"--preview-domain must be a lowercase DNS name with a dot (preview.example.com), got '{Shorten(domain)}'.");
        }

        if (domain is null && needsUrls)
        {
            throw Usage("--preview-domain is needed with --manifests: nothing there reports preview URLs, so they are computed from the server's --preview-domain (and --preview-salt).");
        }

        if (salt is { Length: > MaxSaltLength })
        {
            throw Usage(string.Create(CultureInfo.InvariantCulture, $"--preview-salt may have at most {MaxSaltLength} characters, got {salt.Length}."));
        }

        var manifestsNamespace = parse.GetValue(cluster.Namespace) ?? ObjectMeta.DefaultNamespace;
        CheckName("-n", manifestsNamespace, label: true);
        return new ManifestsPreviewStore(directory.FullName, manifestsNamespace, domain?.TrimEnd('.'), salt ?? "", Local.AgentStateStore.ForUser());
    }

    /// <summary>The owner SANDBOX or <c>--local-workload</c> names (exactly one of them), or null when neither does and <paramref name="required"/> is false.</summary>
    public PreviewOwner? Owner(ParseResult parse, Argument<string?> sandbox, string ns, bool required)
    {
        var sandboxName = parse.GetValue(sandbox);
        var workload = parse.GetValue(LocalWorkload);
        if (sandboxName is not null && workload is not null)
        {
            throw Usage($"name either a Sandbox (SANDBOX, got '{Shorten(sandboxName)}') or --local-workload, not both.");
        }

        if (sandboxName is null && workload is null)
        {
            return required ? throw Usage("name the Sandbox (SANDBOX) or the LocalWorkload (--local-workload NAME) whose preview to open.") : null;
        }

        if (sandboxName is not null)
        {
            CheckName("SANDBOX", sandboxName, label: false);
            return new PreviewOwner(XdsControlPlane.Model.Sandbox.KindName, ns, sandboxName);
        }

        CheckName("--local-workload", workload!, label: false);
        return new PreviewOwner(XdsControlPlane.Model.LocalWorkload.KindName, ns, workload!);
    }

    /// <summary>The <c>--service</c> flag, checked.</summary>
    public string? ServiceOf(ParseResult parse) =>
        parse.GetValue(Service) is { } service && !SchemaPatterns.IsServiceReference(service)
            ? throw Usage($"--service must be a Service name (cart, or cart.namespace) as spec.previews names it, got '{Shorten(service)}'.")
            : parse.GetValue(Service);

    /// <summary>Refuses a name that is not a Kubernetes object name (a DNS subdomain, or a label for a namespace).</summary>
    public static void CheckName(string flag, string name, bool label)
    {
        if (!(label ? SchemaPatterns.IsDnsLabel(name) : SchemaPatterns.IsDnsSubdomain(name)))
        {
            throw Usage($"{flag} must be a Kubernetes name ({(label ? "1-63" : "1-253")} characters of a-z, 0-9, '-'{(label ? "" : " and '.'")}, starting and ending alphanumeric), got '{Shorten(name)}'.");
        }
    }

    /// <summary>A usage error: exit 1, with the preview help as the hint.</summary>
    public static CliException Usage(string message) => new(message, "See: sandboxctl preview --help", ExitCodes.UserError);

    /// <summary>A hostile value, cut for messages (and without control characters).</summary>
    public static string Shorten(string value)
    {
        var clean = new string([.. value.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);
        return value.Length > 80 ? clean + "…" : clean;
    }
}
