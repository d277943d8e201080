using System.Text.Json.Nodes;

namespace XdsControlPlane.Testing;

internal sealed partial class FakeApiServer
{
    /// <summary>
    /// Label selectors as the API server reads <c>labelSelector</c>: equality (<c>a=b</c>, <c>a==b</c>, <c>a!=b</c>),
    /// existence (<c>a</c>, <c>!a</c>) and sets (<c>a in (x,y)</c>, <c>a notin (x,y)</c>); terms are ANDed.
    /// </summary>
    private static class LabelSelector
    {
        public static Func<JsonObject, bool> Parse(string text)
        {
            var terms = Terms(text).Select(Term).ToList();
            return obj =>
            {
                var labels = obj["metadata"]?["labels"] as JsonObject;
                return terms.All(term => term(labels));
            };
        }

        /// <summary>The terms of a selector: split at commas outside parentheses.</summary>
        private static IEnumerable<string> Terms(string text)
        {
            var depth = 0;
            var start = 0;
            for (var i = 0; i <= text.Length; i++)
            {
                if (i == text.Length || (text[i] == ',' && depth == 0))
                {
                    if (text[start..i].Trim() is { Length: > 0 } term)
                    {
                        yield return term;
                    }

                    start = i + 1;
                }
                else if (text[i] == '(')
                {
                    depth++;
                }
                else if (text[i] == ')')
                {
                    depth--;
                }
            }
        }

        private static Func<JsonObject?, bool> Term(string term)
        {
            var parts = term.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts is [var key, var rest] && (rest.StartsWith("in ", StringComparison.Ordinal) || rest.StartsWith("in(", StringComparison.Ordinal) || rest.StartsWith("notin", StringComparison.Ordinal)))
            {
                var negated = rest.StartsWith("notin", StringComparison.Ordinal);
                var values = rest[(rest.IndexOf('(', StringComparison.Ordinal) + 1)..rest.LastIndexOf(')')]
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
                return labels => (labels?[key] is JsonValue value && values.Contains((string)value!)) != negated;
            }

            if (term.Contains("!=", StringComparison.Ordinal))
            {
                var (label, value) = (term.Split("!=")[0].Trim(), term.Split("!=")[1].Trim());
                return labels => (string?)labels?[label] != value;
            }

            if (term.Contains('=', StringComparison.Ordinal))
            {
                var (label, value) = (term.Split('=')[0].Trim(), term.Split('=')[^1].Trim());
                return labels => (string?)labels?[label] == value;
            }

            return term.StartsWith('!') ? labels => labels?.ContainsKey(term[1..].Trim()) != true : labels => labels?.ContainsKey(term) == true;
        }
    }
}
