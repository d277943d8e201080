using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace XdsControlPlane.Model;

/// <summary>
/// The limits every manifest is read within, so that no file can exhaust memory, the stack or the CPU. They are far
/// above what real manifests need and in line with what the Kubernetes API server accepts (etcd keeps objects up to
/// 1.5 MiB; the Go YAML decoder Kubernetes uses stops "excessive aliasing"). docs/manifests.md lists them.
/// </summary>
public static class ManifestLimits
{
    /// <summary>The largest manifest file read (bytes); a larger one is reported and its last good objects stay.</summary>
    public const long MaxFileBytes = 16L * 1024 * 1024;

    /// <summary>The largest single document (object) in a file, in characters: etcd's default request limit.</summary>
    public const int MaxDocumentChars = 1536 * 1024;

    /// <summary>The deepest nesting of mappings and sequences in a document.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most nodes that aliases (<c>*name</c>) may add to one file when expanded, all its documents together.</summary>
    public const int MaxAliasExpansion = 100_000;

    /// <summary>The most nodes (scalars, mappings, sequences, alias expansions counted) in one file: about 50 per object for 10,000 objects.</summary>
    public const int MaxNodes = 1_000_000;

    /// <summary>
    /// <paramref name="parser"/> (YAMLDotNet's event parser, which is iterative and expands nothing), checking each
    /// event against the limits as it becomes current, before whoever reads the parser (a tree loader) sees it: one
    /// pass over the text both checks it and builds the tree, which never grows past the depth, node or alias limits.
    /// </summary>
    /// <remarks>A limit exceeded (or text that is not YAML) throws a <see cref="YamlException"/> whose mark is where.</remarks>
    internal static IParser Checking(IParser parser) => new CheckingParser(parser);

    private sealed class CheckingParser(IParser inner) : IParser
    {
        private readonly Stack<Frame> frames = new();
        private readonly Dictionary<string, long> anchors = new(StringComparer.Ordinal);
        private readonly HashSet<string> open = new(StringComparer.Ordinal);
        private int depth;
        private long expansion;
        private long nodes;
        private long documentStart;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (!inner.MoveNext())
            {
                return false;
            }

            Observe(inner.Current!);
            return true;
        }

        private void Observe(ParsingEvent current)
        {
            switch (current)
            {
                case DocumentStart start:
                    // Anchors are per document; the expansion and node budgets are per file, so repeating a document
                    // cannot multiply them.
                    documentStart = start.Start.Index;
                    anchors.Clear();
                    break;
                case DocumentEnd end when end.End.Index - documentStart > MaxDocumentChars:
                    throw new YamlException(end.Start, end.End, string.Create(CultureInfo.InvariantCulture, $"this document is {(end.End.Index - documentStart) / 1024} KiB; one object may have at most {MaxDocumentChars / 1024} KiB"));
                case MappingStart or SequenceStart:
                    if (++depth > MaxDepth)
                    {
                        throw new YamlException(current.Start, current.End, $"mappings and sequences are nested deeper than {MaxDepth} levels");
                    }

                    var anchor = ((NodeEvent)current).Anchor.IsEmpty ? null : ((NodeEvent)current).Anchor.Value;
                    if (anchor is not null)
                    {
                        open.Add(anchor);
                    }

                    frames.Push(new Frame(anchor));
                    Count(ref nodes, 1, current);
                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    var done = frames.Pop();
                    if (done.Anchor is not null)
                    {
                        open.Remove(done.Anchor);
                        anchors[done.Anchor] = done.Nodes;
                    }

                    Add(frames, done.Nodes);
                    break;
                case Scalar scalar:
                    if (!scalar.Anchor.IsEmpty)
                    {
                        anchors[scalar.Anchor.Value] = 1;
                    }

                    Add(frames, 1);
                    Count(ref nodes, 1, current);
                    break;
                case AnchorAlias alias:
                    // YAMLDotNet resolves an alias to a node that is still open into a tree that contains itself,
                    // which nothing can walk: refuse it here, before the tree is built.
                    if (open.Contains(alias.Value.Value))
                    {
                        throw new YamlException(alias.Start, alias.End, $"alias *{alias.Value.Value} refers to a node that contains it");
                    }

                    var size = anchors.GetValueOrDefault(alias.Value.Value, 1);
                    expansion += size;
                    if (expansion > MaxAliasExpansion)
                    {
                        throw new YamlException(alias.Start, alias.End, $"aliases would expand this file by more than {MaxAliasExpansion} nodes");
                    }

                    Add(frames, size);
                    Count(ref nodes, size, current);
                    break;
            }
        }
    }

    private static void Count(ref long nodes, long more, ParsingEvent at)
    {
        nodes += more;
        if (nodes > MaxNodes)
        {
            throw new YamlException(at.Start, at.End, $"the file has more than {MaxNodes} nodes");
        }
    }

    /// <summary>Counts <paramref name="nodes"/> into the innermost open collection (capped: only the limit matters).</summary>
    private static void Add(Stack<Frame> frames, long nodes)
    {
        if (frames.TryPeek(out var top))
        {
            top.Nodes = Math.Min(top.Nodes + nodes, MaxAliasExpansion + 1L);
        }
    }

    private sealed class Frame(string? anchor)
    {
        public string? Anchor { get; } = anchor;

        public long Nodes { get; set; } = 1;
    }
}
