namespace XdsControlPlane.Model;

/// <summary>The canonical path of a file or directory: absolute, with every symbolic link on the way resolved.</summary>
internal static class RealPath
{
    /// <summary>The most links followed for one path before it is taken as a loop (Linux's own limit is 40).</summary>
    private const int MaxLinks = 40;

    /// <summary>The real path of <paramref name="path"/> (which need not exist past its last existing component).</summary>
    /// <exception cref="IOException">More than 40 symbolic links on the way: a loop.</exception>
    public static string Of(string path)
    {
        var links = 0;
        return Resolve(Path.GetFullPath(path), ref links);
    }

    private static string Resolve(string full, ref int links)
    {
        var root = Path.GetPathRoot(full) ?? "";
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxLinks)
                {
                    throw new IOException($"too many levels of symbolic links at {next}");
                }

                // A relative target is relative to the directory holding the link; the target may hold links itself.
                next = Resolve(Path.GetFullPath(target, current), ref links);
            }

            current = next;
        }

        return current;
    }
}
