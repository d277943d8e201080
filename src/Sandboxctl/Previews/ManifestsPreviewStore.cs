using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Sandboxctl.Local;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// Previews and grants of a control plane run with <c>--manifests DIR</c> (no cluster): Sandboxes are read from the
/// manifests in DIR, and since nothing writes a status there, each preview's URL is computed as the server computes it
/// (<see cref="PreviewHostNames"/> from <c>--preview-domain</c> and <c>--preview-salt</c>, which must match the
/// server's). Grants are files <c>previewgrant.NAMESPACE.NAME.yaml</c> in DIR, written 0600 through a hidden temporary
/// file and a rename (the server never reads half a grant), and deleted to revoke. LocalWorkloads live in the
/// broker's memory in this mode: a laptop's previews are the ones the broker's Welcome named to the
/// <c>local connect</c> agent running on this machine for this user, as its state file records them
/// (<see cref="LaptopPreviews"/>); a LocalWorkload whose agent runs elsewhere cannot be read here.
/// </summary>
internal sealed class ManifestsPreviewStore : IPreviewStore
{
    /// <summary>The largest grant file read back (a grant is a few hundred bytes).</summary>
    private const long MaxGrantFileBytes = 64 * 1024;

    private const string FilePrefix = "previewgrant.";

    private readonly string _directory;
    private readonly string? _domain;
    private readonly string _salt;
    private readonly AgentStateStore _agents;

    /// <summary>The store of <paramref name="directory"/> (which must exist) for owners in <paramref name="ns"/>; laptops' previews are read from <paramref name="agents"/>.</summary>
    public ManifestsPreviewStore(string directory, string ns, string? domain, string salt, AgentStateStore agents)
    {
        ArgumentNullException.ThrowIfNull(agents);
        _agents = agents;
        ArgumentNullException.ThrowIfNull(directory);
        _directory = Path.GetFullPath(directory);
        if (!Directory.Exists(_directory))
        {
            throw new CliException($"--manifests {directory}: the directory does not exist.", "Pass the directory the control plane was started with (--manifests DIR).", ExitCodes.UserError);
        }

        Namespace = ns;
        _domain = domain;
        _salt = salt;
    }

    /// <inheritdoc />
    public string Namespace { get; }

    /// <inheritdoc />
    public Task<IReadOnlyList<PreviewEntry>> PreviewsOfAsync(PreviewOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (owner.IsLocalWorkload)
        {
            return Task.FromResult(LaptopPreviews.Of(owner, _agents));
        }

        var sandbox = ReadSandboxes().FirstOrDefault(s => s.Metadata.Namespace == owner.Namespace && s.Metadata.Name == owner.Name)
            ?? throw new CliException($"{owner} is not in the manifests of {_directory}.", $"List them with: sandboxctl preview list --manifests {_directory} -n {owner.Namespace}", ExitCodes.UserError);
        return Task.FromResult(PreviewsOf(sandbox));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PreviewEntry>> AllPreviewsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PreviewEntry>>([.. ReadSandboxes().Where(s => s.Metadata.Namespace == Namespace).SelectMany(PreviewsOf), .. LaptopPreviews.All(Namespace, _agents)]);

    /// <inheritdoc />
    public async Task<string> CreateGrantAsync(PreviewGrant grant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var name = PreviewGrantMint.GenerateName + new string(RandomNumberGenerator.GetItems<char>("bcdfghjklmnpqrstvwxz2456789", 5));
        var body = CustomObjectClient.Body(grant with { Metadata = grant.Metadata with { Name = name } }, Namespace);
        var path = Path.Combine(_directory, FileName(Namespace, name));
        var temporary = Path.Combine(_directory, $".{FileName(Namespace, name)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var stream = new FileStream(temporary, options);
            await using (stream.ConfigureAwait(false))
            {
                var writer = new StreamWriter(stream);
                await using (writer.ConfigureAwait(false))
                {
                    await writer.WriteAsync(YamlJson.ToYaml(body).AsMemory(), cancellationToken).ConfigureAwait(false);
                    await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }
            }

            File.Move(temporary, path, overwrite: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot write the PreviewGrant into --manifests {_directory}: {e.Message}", "Check that the directory is writable for you.", ExitCodes.UserError);
        }
        finally
        {
            File.Delete(temporary);
        }

        return name;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<GrantView>> GrantsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<GrantView>>([.. ReadGrantFiles().Select(f => f.Grant).Where(g => g.Namespace == Namespace)]);

    /// <inheritdoc />
    public Task DeleteGrantAsync(string name, CancellationToken cancellationToken)
    {
        var file = ReadGrantFiles().FirstOrDefault(f => f.Grant.Namespace == Namespace && f.Grant.Name == name).Path
            ?? throw new CliException($"PreviewGrant {Namespace}/{name} not found in --manifests {_directory}.", $"List them with: sandboxctl preview list --manifests {_directory} -n {Namespace}", ExitCodes.UserError);
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot delete {file}: {e.Message}", "Check that the directory is writable for you.", ExitCodes.UserError);
        }

        return Task.CompletedTask;
    }

    /// <summary>The file a grant is kept in.</summary>
    public static string FileName(string ns, string name) => $"{FilePrefix}{ns}.{name}.yaml";

    private IReadOnlyList<PreviewEntry> PreviewsOf(Sandbox sandbox)
    {
        var owner = new PreviewOwner(Sandbox.KindName, sandbox.Metadata.Namespace, sandbox.Metadata.Name);
        return [.. sandbox.Spec.Previews.Select(p => new PreviewEntry(owner, p.Service, p.Port, p.Access, UrlOf(owner, p.Service, p.Port)))];
    }

    /// <summary>The URL the server serves the preview at, or null without <c>--preview-domain</c>.</summary>
    private string? UrlOf(PreviewOwner owner, string service, int port) =>
        _domain is null ? null : PreviewHostNames.Url(PreviewHostNames.Host(owner.Kind, owner.Namespace, owner.Name, service, port, _salt, _domain));

    private IEnumerable<Sandbox> ReadSandboxes()
    {
        IReadOnlyList<ManifestFile> files;
        try
        {
            files = new ManifestDirectoryReader(_directory).Read(out _);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new CliException($"--manifests: {e.Message}.", "Pass the directory the control plane was started with.", ExitCodes.UserError);
        }

        return files.SelectMany(f => f.Contents.Objects).Select(o => o.Resource).OfType<Sandbox>();
    }

    /// <summary>The grant files of DIR (top level) that hold a readable grant; others are not ours and are left alone.</summary>
    private IEnumerable<(string Path, GrantView Grant)> ReadGrantFiles()
    {
        foreach (var path in Directory.EnumerateFiles(_directory, FilePrefix + "*.yaml").Order(StringComparer.Ordinal))
        {
            if (ReadGrant(path) is { } grant)
            {
                yield return (path, grant);
            }
        }
    }

    private static GrantView? ReadGrant(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxGrantFileBytes || info.LinkTarget is not null)
            {
                return null;
            }

            return YamlJson.Convert(File.ReadAllText(path)) is JsonObject obj && JsonFields.Text(obj["kind"]) == PreviewGrant.KindName ? GrantView.FromObject(obj) : null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not a grant this command wrote (or one edited into something else): not listed, never deleted.
            return null;
        }
    }
}
