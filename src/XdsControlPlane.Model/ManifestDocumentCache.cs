namespace XdsControlPlane.Model;

/// <summary>
/// The documents of one manifest file as last read, each by its text, so that reading a new version of the file parses
/// and reads only the documents whose text changed: the others keep what they read to — the very object instances, so
/// the set in force sees them unchanged without comparing or validating them again (an edit of one RouteGroup in a
/// file of hundreds reads one document, not hundreds).
/// </summary>
/// <remarks>
/// Only plain multi-document text is read by parts: documents separated by lines that start with <c>---</c>, without
/// directives (<c>%</c>), document end markers (<c>...</c>) or anchors (<c>&amp;</c>), at most
/// <see cref="MaxPartedChars"/> characters. There every document parses alone exactly as it does in the whole stream
/// (the YAML spec forbids a document marker inside a document), and the per-file budgets of
/// <see cref="ManifestLimits"/> (nodes, alias expansion) cannot be reached: each node takes at least one character and
/// there are no aliases. Any other text, and any version in which a changed document does not parse alone, is read
/// whole by <see cref="ManifestReader.Read(string, string)"/>, so problems are reported exactly as before — a file that
/// is not YAML is one problem for the file, never a part of it quietly read. Not thread-safe: one reader per file.
/// </remarks>
internal sealed class ManifestDocumentCache
{
    /// <summary>The longest text read by parts: half of <see cref="ManifestLimits.MaxNodes"/>, so the file's node budget cannot be reached.</summary>
    public const int MaxPartedChars = ManifestLimits.MaxNodes / 2;

    private Dictionary<string, Part> _parts = new(StringComparer.Ordinal);

    /// <summary>How many documents the last <see cref="Read"/> parsed; <see langword="null"/> when it read the text whole.</summary>
    public int? DocumentsParsed { get; private set; }

    /// <summary>Reads <paramref name="text"/>, a new version of the file <paramref name="source"/>, parsing only what changed since the last read.</summary>
    public ManifestReadResult Read(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        if (text.Length > MaxPartedChars || text.Contains('&', StringComparison.Ordinal) || Split(text) is not { } pieces)
        {
            return Whole(text, source);
        }

        var parts = new Dictionary<string, Part>(StringComparer.Ordinal);
        var objects = new List<ManifestObject>();
        var problems = new List<ManifestProblem>();
        var ignored = new List<string>();
        var document = 0;
        var parsed = 0;
        foreach (var (pieceText, firstLine) in pieces)
        {
            if (!_parts.TryGetValue(pieceText, out var part) && !parts.TryGetValue(pieceText, out part))
            {
                IReadOnlyList<ManifestYamlParser.Document> documents;
                try
                {
                    documents = ManifestYamlParser.Parse(pieceText);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Not YAML on its own: the whole text says where and why, as it always did.
                    return Whole(text, source);
                }

                if (documents.Count > 1)
                {
                    return Whole(text, source); // not the split the parser sees: trust the parser
                }

                parsed += documents.Count;
                part = new Part(documents.Count, ManifestReader.ReadDocuments(documents, source, document, firstLine - 1), document, firstLine);
            }

            parts.TryAdd(pieceText, part);
            var read = part.At(document, firstLine);
            objects.AddRange(read.Objects);
            problems.AddRange(read.Problems);
            ignored.AddRange(read.IgnoredKinds);
            document += part.Documents;
        }

        _parts = parts;
        DocumentsParsed = parsed;
        return new ManifestReadResult(objects, problems, ignored);
    }

    /// <summary>The text read whole, as without this cache; nothing of it is kept for the next read.</summary>
    private ManifestReadResult Whole(string text, string source)
    {
        _parts = new(StringComparer.Ordinal);
        var result = ManifestReader.Read(text, source);
        DocumentsParsed = null;
        return result;
    }

    /// <summary>
    /// The text cut before every line that starts a document (<c>---</c> followed by a space, a tab or the line's end),
    /// each piece with its first line; <see langword="null"/> when the text has a directive or a document end marker.
    /// </summary>
    private static List<(string Text, int FirstLine)>? Split(string text)
    {
        var pieces = new List<(string, int)>();
        var (start, startLine, line) = (0, 1, 1);
        for (var at = 0; at < text.Length; line++)
        {
            if (text[at] == '%' || StartsLine(text, at, "..."))
            {
                return null;
            }

            if (at > 0 && StartsLine(text, at, "---"))
            {
                pieces.Add((text[start..at], startLine));
                (start, startLine) = (at, line);
            }

            var end = text.IndexOf('\n', at);
            at = end < 0 ? text.Length : end + 1;
        }

        pieces.Add((text[start..], startLine));
        return pieces;
    }

    private static bool StartsLine(string text, int at, string marker) =>
        string.CompareOrdinal(text, at, marker, 0, marker.Length) == 0
        && (at + marker.Length == text.Length || text[at + marker.Length] is ' ' or '\t' or '\r' or '\n');

    /// <summary>What one piece of text read to, as document <paramref name="Document"/> of the file at line <paramref name="FirstLine"/>.</summary>
    private sealed record Part(int Documents, ManifestReadResult Read, int Document, int FirstLine)
    {
        /// <summary>The same read as document <paramref name="document"/> at line <paramref name="firstLine"/>: the very objects, their locations moved.</summary>
        public ManifestReadResult At(int document, int firstLine)
        {
            if (document == Document && firstLine == FirstLine)
            {
                return Read;
            }

            var lines = firstLine - FirstLine;
            return new ManifestReadResult(
                [.. Read.Objects.Select(o => o with { Location = Move(o.Location, document, lines)! })],
                [.. Read.Problems.Select(p => p with { Location = Move(p.Location, document, lines) })],
                Read.IgnoredKinds);
        }

        private ManifestLocation? Move(ManifestLocation? location, int document, int lines) =>
            location is null ? null : location with { Document = location.Document - Document + document, Line = location.Line + lines };
    }
}
