using System.Globalization;
using System.Text;

namespace XdsControlPlane.Model;

/// <summary>Where a manifest object came from: a file (or other source), the document index in it, and a line.</summary>
/// <param name="Source">The file path, or a description of the source.</param>
/// <param name="Document">The 0-based index of the YAML document in the file.</param>
/// <param name="Line">The 1-based line the problem is on, when known.</param>
public sealed record ManifestLocation(string Source, int Document, int? Line = null)
{
    /// <inheritdoc />
    public override string ToString() =>
        Line is { } line
            ? string.Create(CultureInfo.InvariantCulture, $"{Source}:{line} (document {Document})")
            : string.Create(CultureInfo.InvariantCulture, $"{Source} (document {Document})");
}

/// <summary>
/// One thing wrong with the input: which object (when known), the field path in it and the reason, e.g.
/// <c>RouteGroup shop/feature-x: spec.routes[1].to: weights must sum to 100, got 90</c>.
/// </summary>
/// <param name="Resource">The object, when the problem could be tied to one.</param>
/// <param name="FieldPath">The field, such as <c>spec.routes[1].to[0].weight</c>; empty for the whole document.</param>
/// <param name="Reason">What is wrong, as one sentence fragment.</param>
/// <param name="Location">Where the object was read from, when known.</param>
public sealed record ManifestProblem(ResourceKey? Resource, string FieldPath, string Reason, ManifestLocation? Location = null)
{
    /// <summary>What kind of problem it is; decides which status condition reports it.</summary>
    public ProblemKind Kind { get; init; } = ProblemKind.Invalid;

    /// <summary>The most characters of <see cref="ToString"/>.</summary>
    public const int MaxTextLength = 4096;

    /// <summary>
    /// The problem as one printable line (at most <see cref="MaxTextLength"/> characters): reasons quote what users
    /// wrote, so control and format characters become <c>?</c>, and neither a log line nor a terminal can be forged
    /// through it, whether the server logs it or <c>render</c> and <c>apply</c> print it.
    /// </summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        if (Location is not null)
        {
            text.Append(Location).Append(": ");
        }

        if (Resource is not null)
        {
            text.Append(Resource).Append(": ");
        }

        if (FieldPath.Length > 0)
        {
            text.Append(FieldPath).Append(": ");
        }

        text.Append(Reason);
        if (text.Length > MaxTextLength)
        {
            text.Length = MaxTextLength;
            text.Append('…');
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (char.GetUnicodeCategory(text[i]) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                text[i] = '?';
            }
        }

        return text.ToString();
    }
}

/// <summary>Kinds of <see cref="ManifestProblem"/>, mapped to status conditions.</summary>
public enum ProblemKind
{
    /// <summary>The object itself is wrong (a field's format, range, a one-of rule): <c>Accepted=False</c>.</summary>
    Invalid,

    /// <summary>It refers to a Service, port, Sandbox or LocalWorkload that does not exist: <c>ResolvedRefs=False</c>.</summary>
    UnresolvedReference,

    /// <summary>Another object already routes the same key and conditions: <c>Accepted=False</c>, reason <c>Conflicted</c>.</summary>
    Conflict,

    /// <summary>
    /// It refers to another namespace's Service that does not allow it: <c>ResolvedRefs=False</c>, reason
    /// <c>RefNotPermitted</c>. Never replaced by a last good version: revoking the grant takes effect at once.
    /// </summary>
    NotPermitted,

    /// <summary>
    /// A virtual host carrying its routes broke Envoy's rules (for a reason the model cannot see) and is held out of its
    /// route configuration — kept at the version served before, or left out: <c>Programmed=False</c>, reason
    /// <c>VirtualHostHeldOut</c>. Found at publication, never by validation; the object itself stays in force.
    /// </summary>
    HeldOut,
}
