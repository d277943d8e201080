namespace XdsControlPlane.Model;

/// <summary>
/// The files of a manifest directory as last applied, and the object keys each names (as objects or in problems):
/// what <see cref="LastGoodManifestSet"/> consults to find the objects an edit affects and the files that define one.
/// </summary>
internal sealed class ManifestFileIndex
{
    private readonly Dictionary<string, ManifestFile> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResourceKey[]> _keysByFile = new(StringComparer.Ordinal);
    private readonly Dictionary<ResourceKey, List<string>> _filesByKey = [];   // in ordinal order; nearly always one
    private readonly SortedDictionary<string, IReadOnlyList<ManifestProblem>> _fileProblems = new(StringComparer.Ordinal);

    /// <summary>The paths of the files held.</summary>
    public IEnumerable<string> Paths => _files.Keys;

    /// <summary>The problems of the files themselves, in path order.</summary>
    public IEnumerable<ManifestProblem> FileProblems => _fileProblems.Values.SelectMany(p => p);

    /// <summary>The file held at <paramref name="path"/>.</summary>
    public ManifestFile this[string path] => _files[path];

    /// <summary>Whether the whole file failed to read (YAML syntax, size): it gives no object, only a problem without one.</summary>
    public static bool IsUnreadable(ManifestFile file) =>
        file.Contents.Objects.Count == 0 && file.Contents.Problems.Any(p => p.Resource is null);

    /// <summary>Whether <paramref name="file"/> is the very instance held for its path (so its contents did not change).</summary>
    public bool Holds(ManifestFile file) => _files.TryGetValue(file.Path, out var held) && ReferenceEquals(held, file);

    /// <summary>The paths of the files naming <paramref name="key"/>, in ordinal order.</summary>
    public bool TryGetPaths(ResourceKey key, out IReadOnlyList<string> paths)
    {
        var found = _filesByKey.TryGetValue(key, out var list);
        paths = list ?? [];
        return found;
    }

    /// <summary>Removes the file at <paramref name="path"/>; the keys it named join <paramref name="affected"/>.</summary>
    public void Remove(string path, HashSet<ResourceKey> affected)
    {
        if (_files.Remove(path))
        {
            SetKeys(path, [], affected);
            _fileProblems.Remove(path);
        }
    }

    /// <summary>Holds <paramref name="file"/> (new, or new contents); the keys it names and named join <paramref name="affected"/>.</summary>
    public void Put(ManifestFile file, HashSet<ResourceKey> affected)
    {
        var had = _keysByFile.TryGetValue(file.Path, out var previousKeys);
        _files[file.Path] = file;
        if (file.Contents.Problems.Count > 0)
        {
            _fileProblems[file.Path] = file.Contents.Problems;
        }
        else
        {
            _fileProblems.Remove(file.Path);
        }

        // The whole file failed (YAML syntax): everything it defined keeps its last good version.
        ResourceKey[] keys = IsUnreadable(file) && had ? previousKeys! : [.. file.Contents.Objects.Select(o => o.Resource.Key), .. file.Contents.Problems.Where(p => p.Resource is not null).Select(p => p.Resource!)];
        SetKeys(file.Path, keys, affected);
        affected.UnionWith(keys);
    }

    /// <summary>Records that <paramref name="path"/> now names <paramref name="keys"/>; the keys it named before become affected.</summary>
    private void SetKeys(string path, ResourceKey[] keys, HashSet<ResourceKey> affected)
    {
        if (_keysByFile.TryGetValue(path, out var old))
        {
            affected.UnionWith(old);
            foreach (var key in old)
            {
                if (_filesByKey.TryGetValue(key, out var paths) && paths.Remove(path) && paths.Count == 0)
                {
                    _filesByKey.Remove(key);
                }
            }
        }

        if (keys.Length == 0 && !_files.ContainsKey(path))
        {
            _keysByFile.Remove(path);
            return;
        }

        _keysByFile[path] = keys;
        foreach (var key in keys)
        {
            if (!_filesByKey.TryGetValue(key, out var paths))
            {
                _filesByKey[key] = [path];
                continue;
            }

            var at = paths.BinarySearch(path, StringComparer.Ordinal);
            if (at < 0)
            {
                paths.Insert(~at, path);
            }
        }
    }
}
