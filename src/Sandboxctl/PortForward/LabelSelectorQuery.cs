using k8s.Models;

namespace Sandboxctl.PortForward;

/// <summary>
/// A whole <see cref="V1LabelSelector"/> as the <c>labelSelector</c> query the API server filters by, as kubectl
/// builds it (<c>metav1.LabelSelectorAsSelector</c>): <c>matchLabels</c> as <c>key=value</c>, <c>matchExpressions</c>
/// as <c>key in (a,b)</c>, <c>key notin (a,b)</c>, <c>key</c> (Exists) and <c>!key</c> (DoesNotExist). A selector with
/// expressions only is a selector; an invalid expression is an error naming it.
/// </summary>
internal static class LabelSelectorQuery
{
    /// <summary>The query for <paramref name="selector"/>, or null when it selects nothing in particular (no labels, no expressions).</summary>
    /// <exception cref="FormatException">An expression with an unknown operator, or values where none belong (or none where some must).</exception>
    public static string? Of(V1LabelSelector? selector) =>
        Of(selector?.MatchLabels, selector?.MatchExpressions);

    /// <summary>The query for <paramref name="labels"/> and <paramref name="expressions"/> (either may be null).</summary>
    public static string? Of(IDictionary<string, string>? labels, IList<V1LabelSelectorRequirement>? expressions)
    {
        var terms = new List<string>();
        terms.AddRange((labels ?? new Dictionary<string, string>()).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
        terms.AddRange((expressions ?? []).Select(Term));
        return terms.Count == 0 ? null : string.Join(',', terms);
    }

    private static string Term(V1LabelSelectorRequirement requirement)
    {
        var values = requirement.Values ?? [];
        return requirement.OperatorProperty switch
        {
            "In" or "NotIn" when values.Count == 0 => throw new FormatException($"matchExpressions {requirement.Key} {requirement.OperatorProperty}: needs at least one value"),
            "In" => $"{requirement.Key} in ({string.Join(',', values.Order(StringComparer.Ordinal))})",
            "NotIn" => $"{requirement.Key} notin ({string.Join(',', values.Order(StringComparer.Ordinal))})",
            "Exists" or "DoesNotExist" when values.Count > 0 => throw new FormatException($"matchExpressions {requirement.Key} {requirement.OperatorProperty}: takes no values"),
            "Exists" => requirement.Key,
            "DoesNotExist" => $"!{requirement.Key}",
            _ => throw new FormatException($"matchExpressions {requirement.Key}: unknown operator '{requirement.OperatorProperty}' (In, NotIn, Exists or DoesNotExist)"),
        };
    }
}
