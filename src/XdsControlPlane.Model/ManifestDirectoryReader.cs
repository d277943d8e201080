namespace XdsControlPlane.Model;

/// <summary>
/// Reads every manifest file (<c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>) below a directory, skipping hidden
/// entries (such as a ConfigMap volume's <c>..data</c> folders, whose files appear through symlinks). A file is
/// parsed again only when its size or modification time changed, so unchanged objects keep their identity.
/// </summary>
public sealed class ManifestDirectoryReader(string directory)
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];
    private Dictionary<string, CachedFile> _files = new(StringComparer.Ordinal);

    /// <summary>The directory read.</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Reads the directory; <paramref name="changed"/> tells whether any file was added, removed or changed.</summary>
    public IReadOnlyList<ManifestFile> Read(out bool changed)
    {
        var files = new Dictionary<string, CachedFile>(StringComparer.Ordinal);
        changed = false;
        foreach (var path in Enumerate(Directory))
        {
            var info = new FileInfo(path);
            var stamp = (info.Exists ? info.Length : -1, info.Exists ? info.LastWriteTimeUtc : DateTime.MinValue);
            if (_files.TryGetValue(path, out var cached) && cached.Stamp == stamp)
            {
                files[path] = cached;
                continue;
            }

            changed = true;
            var relative = Path.GetRelativePath(Directory, path);
            ManifestReadResult contents;
            try
            {
                contents = ManifestReader.Read(File.ReadAllText(path), relative);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                contents = new ManifestReadResult([], [new ManifestProblem(null, "", $"cannot read the file: {e.Message}", new ManifestLocation(relative, 0))], []);
            }

            files[path] = new CachedFile(stamp, new ManifestFile(path, contents));
        }

        changed |= _files.Keys.Any(path => !files.ContainsKey(path));
        _files = files;
        return [.. files.Values.Select(f => f.File).OrderBy(f => f.Path, StringComparer.Ordinal)];
    }

    private static IEnumerable<string> Enumerate(string directory)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.None };
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "*", options).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (!name.StartsWith('.') && Extensions.Contains(Path.GetExtension(name), StringComparer.OrdinalIgnoreCase))
            {
                yield return path;
            }
        }

        foreach (var child in System.IO.Directory.EnumerateDirectories(directory, "*", options).Order(StringComparer.Ordinal))
        {
            if (!Path.GetFileName(child).StartsWith('.'))
            {
                foreach (var path in Enumerate(child))
                {
                    yield return path;
                }
            }
        }
    }

    private sealed record CachedFile((long Length, DateTime Modified) Stamp, ManifestFile File);
}
