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

    /// <summary>The most nodes that aliases (<c>*name</c>) may add to one document when expanded.</summary>
    public const int MaxAliasExpansion = 100_000;

    /// <summary>
    /// Checks <paramref name="text"/> against the limits with YAMLDotNet's event parser, which is iterative and
    /// expands nothing, before anything builds a tree from it.
    /// </summary>
    /// <exception cref="YamlException">A limit is exceeded (or the text is not YAML); the mark is where.</exception>
    internal static void Check(string text)
    {
        using var reader = new StringReader(text);
        var parser = new Parser(reader);
        var frames = new Stack<Frame>();
        var anchors = new Dictionary<string, long>(StringComparer.Ordinal);
        var depth = 0;
        long expansion = 0;
        long documentStart = 0;
        while (parser.MoveNext())
        {
            var current = parser.Current!;
            switch (current)
            {
                case DocumentStart start:
                    documentStart = start.Start.Index;
                    anchors.Clear();
                    expansion = 0;
                    break;
                case DocumentEnd end when end.End.Index - documentStart > MaxDocumentChars:
                    throw new YamlException(end.Start, end.End, string.Create(CultureInfo.InvariantCulture, $"this document is {(end.End.Index - documentStart) / 1024} KiB; one object may have at most {MaxDocumentChars / 1024} KiB"));
                case MappingStart or SequenceStart:
                    if (++depth > MaxDepth)
                    {
                        throw new YamlException(current.Start, current.End, $"mappings and sequences are nested deeper than {MaxDepth} levels");
                    }

                    frames.Push(new Frame(((NodeEvent)current).Anchor.IsEmpty ? null : ((NodeEvent)current).Anchor.Value));
                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    var done = frames.Pop();
                    if (done.Anchor is not null)
                    {
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
                    break;
                case AnchorAlias alias:
                    var size = anchors.GetValueOrDefault(alias.Value.Value, 1);
                    expansion += size;
                    if (expansion > MaxAliasExpansion)
                    {
                        throw new YamlException(alias.Start, alias.End, $"aliases would expand this document by more than {MaxAliasExpansion} nodes");
                    }

                    Add(frames, size);
                    break;
            }
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
