namespace XdsControlPlane.Model;

/// <summary>
/// Reads every manifest file (<c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>) below a directory, skipping hidden
/// entries (such as a ConfigMap volume's <c>..data</c> folders, whose files appear through symlinks). Symlinks are
/// followed, but each real directory and each real file is read once, so links back up the tree cannot loop. A file
/// is parsed again only when the size or modification time of what it points to changed, so unchanged objects keep
/// their identity; and of a file that changed, only the documents whose text changed are parsed again
/// (<see cref="ManifestDocumentCache"/>), so an edit of one object of a large file keeps the others' identity too. A file or directory that cannot be read is reported; the files read from it before keep what
/// they defined (their last good objects stay in force), exactly as for a file that no longer parses.
/// </summary>
public sealed class ManifestDirectoryReader(string directory)
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];
    private static readonly EnumerationOptions Options = new() { RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = FileAttributes.None };
    private Dictionary<string, CachedFile> _files = new(StringComparer.Ordinal);
    private int _parsed;

    /// <summary>The directory read.</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>How many times a file was read and parsed, over every <see cref="Read"/> so far (unchanged files are not).</summary>
    public int FilesParsed => Volatile.Read(ref _parsed);

    /// <summary>Reads the directory; <paramref name="changed"/> tells whether any file was added, removed or changed.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory itself does not exist (any more).</exception>
    public IReadOnlyList<ManifestFile> Read(out bool changed)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new DirectoryNotFoundException($"the manifest directory {Directory} does not exist");
        }

        var files = new Dictionary<string, CachedFile>(StringComparer.Ordinal);
        changed = false;
        var walk = new Walk();
        var toParse = new List<(string Path, string RealPath, (long Length, DateTime Modified) Stamp)>();
        foreach (var entry in Enumerate(Directory, walk))
        {
            if (entry.UnreadableDirectory is { } problem)
            {
                changed |= KeepFilesBelow(entry.Path, problem, files);
                continue;
            }

            var stamp = Stamp(entry.RealPath);
            if (_files.TryGetValue(entry.Path, out var cached) && cached.Stamp == stamp && cached.Cacheable)
            {
                files[entry.Path] = cached;
                continue;
            }

            toParse.Add((entry.Path, entry.RealPath, stamp));
        }

        // Files parse independently: side by side (a cold start reads every file). Each keeps its documents by their
        // text, so an edit of one document of a large file reads that document again, not the file.
        var parsed = new ManifestReadResult[toParse.Count];
        var documents = toParse.Select(f => _files.GetValueOrDefault(f.Path)?.Documents ?? new ManifestDocumentCache()).ToArray();
        Parallel.For(0, toParse.Count, i => parsed[i] = ManifestReader.ReadFile(toParse[i].RealPath, Path.GetRelativePath(Directory, toParse[i].Path), documents[i]));
        Interlocked.Add(ref _parsed, toParse.Count);
        for (var i = 0; i < toParse.Count; i++)
        {
            changed = true;
            var contents = parsed[i];
            if (Emptied(toParse[i].Path, toParse[i].Stamp, contents) is { } emptied)
            {
                contents = emptied;
            }

            // A read that failed (permissions, I/O) is tried again next time even if the file's stamp stays the same.
            var failedToRead = contents.Objects.Count == 0 && contents.Problems.Any(p => p.Resource is null && p.Reason.StartsWith("cannot read", StringComparison.Ordinal));
            files[toParse[i].Path] = new CachedFile(toParse[i].Stamp, new ManifestFile(toParse[i].Path, contents), Cacheable: !failedToRead) { Documents = documents[i] };
        }

        changed |= _files.Keys.Any(path => !files.ContainsKey(path));
        _files = files;
        return [.. files.Values.Select(f => f.File).OrderBy(f => f.Path, StringComparer.Ordinal)];
    }

    /// <summary>
    /// A file that had content and now reads empty is taken for one being written (an editor or a copy that truncates
    /// first): a problem instead of its (lack of) contents, so what it defined stays in force — as for a file that cannot
    /// be read — until it has content again or is deleted. Null for any other read.
    /// </summary>
    private ManifestReadResult? Emptied(string path, (long Length, DateTime Modified) stamp, ManifestReadResult contents)
    {
        if (stamp.Length != 0 || contents.Objects.Count > 0 || contents.Problems.Count > 0
            || !_files.TryGetValue(path, out var before) || (before.Stamp.Length <= 0 && !IsEmptied(before.File)))
        {
            return null;
        }

        var relative = Path.GetRelativePath(Directory, path);
        return new ManifestReadResult([], [new ManifestProblem(null, "", EmptiedReason, new ManifestLocation(relative, 0))], []);
    }

    private static bool IsEmptied(ManifestFile file) => file.Contents.Problems is [{ Resource: null, Reason: EmptiedReason }];

    private const string EmptiedReason = "the file is empty (being written?); what it defined stays in force until it has content again or is deleted";

    /// <summary>
    /// Keeps, for every file read before from below <paramref name="directory"/>, a problem instead of its contents:
    /// what those files defined stays in force as its last good version. Returns whether that is news.
    /// </summary>
    private bool KeepFilesBelow(string directory, string problem, Dictionary<string, CachedFile> files)
    {
        var changed = false;
        var kept = 0;
        var prefix = directory.EndsWith(Path.DirectorySeparatorChar) ? directory : directory + Path.DirectorySeparatorChar;
        foreach (var (path, cached) in _files.Where(f => f.Key.StartsWith(prefix, StringComparison.Ordinal)))
        {
            kept++;
            var relative = Path.GetRelativePath(Directory, path);
            var reason = $"cannot read the directory {Path.GetRelativePath(Directory, directory)}: {problem}; what this file defined stays as it was";
            if (!cached.Cacheable && cached.File.Contents.Problems is [{ } previous] && previous.Reason == reason)
            {
                files[path] = cached;
                continue;
            }

            changed = true;
            files[path] = new CachedFile(cached.Stamp, new ManifestFile(path, new ManifestReadResult([], [new ManifestProblem(null, "", reason, new ManifestLocation(relative, 0))], [])), Cacheable: false);
        }

        if (kept == 0)
        {
            // A directory that had no file read before is reported by itself, so nothing is skipped silently.
            var relative = Path.GetRelativePath(Directory, directory);
            files[directory] = new CachedFile(default, new ManifestFile(directory, new ManifestReadResult([], [new ManifestProblem(null, "", $"cannot read the directory: {problem}", new ManifestLocation(relative, 0))], [])), Cacheable: false);
            changed |= !_files.ContainsKey(directory);
        }

        return changed;
    }

    private static (long Length, DateTime Modified) Stamp(string realPath)
    {
        try
        {
            var info = new FileInfo(realPath);
            return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, DateTime.MinValue);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (-1, DateTime.MinValue);
        }
    }

    /// <summary>Files in ordinal order, depth first; each real directory and real file once.</summary>
    private static IEnumerable<Entry> Enumerate(string directory, Walk walk)
    {
        if (List(directory, walk) is not { } listing)
        {
            yield break;
        }

        if (listing.Problem is { } problem)
        {
            yield return new Entry(directory, directory, problem);
            yield break;
        }

        foreach (var path in listing.Files)
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.') || !Extensions.Contains(Path.GetExtension(name), StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            string real;
            try
            {
                real = RealPath.Of(path);
            }
            catch (IOException)
            {
                real = path; // a dangling or looping link: reading it reports the problem
            }

            if (walk.Files.Add(real))
            {
                yield return new Entry(path, real, null);
            }
        }

        foreach (var child in listing.Children.Where(c => !Path.GetFileName(c).StartsWith('.')))
        {
            foreach (var entry in Enumerate(child, walk))
            {
                yield return entry;
            }
        }
    }

    /// <summary>The files and subdirectories of <paramref name="directory"/>; null when its real directory was listed already; a problem when it cannot be listed.</summary>
    private static Listing? List(string directory, Walk walk)
    {
        try
        {
            if (!walk.Directories.Add(RealPath.Of(directory)))
            {
                return null;
            }

            return new Listing(
                [.. System.IO.Directory.EnumerateFiles(directory, "*", Options).Order(StringComparer.Ordinal)],
                [.. System.IO.Directory.EnumerateDirectories(directory, "*", Options).Order(StringComparer.Ordinal)],
                null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return new Listing([], [], e.Message);
        }
    }

    private sealed record Listing(string[] Files, string[] Children, string? Problem);

    private sealed record Entry(string Path, string RealPath, string? UnreadableDirectory);

    private sealed class Walk
    {
        public HashSet<string> Directories { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Files { get; } = new(StringComparer.Ordinal);
    }

    private sealed record CachedFile((long Length, DateTime Modified) Stamp, ManifestFile File, bool Cacheable = true)
    {
        /// <summary>The file's documents as last read, by their text; <see langword="null"/> for an entry that is not a file read.</summary>
        public ManifestDocumentCache? Documents { get; init; }
    }
}
