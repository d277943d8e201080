using System.Text;

namespace Sandboxctl.Local.PodEnvironment;

/// <summary>
/// <c>$(VAR)</c> in an <c>env[].value</c>, expanded as the kubelet does (k8s.io/kubernetes
/// third_party/forked/golang/expansion): <c>$(NAME)</c> becomes the value of a variable defined before it, an unknown
/// <c>$(NAME)</c> stays as written, <c>$$</c> is one <c>$</c>, and any other <c>$</c> (or an unclosed <c>$(</c>) is kept.
/// </summary>
internal static class EnvExpansion
{
    /// <summary>Expands <paramref name="input"/> with the variables of <paramref name="defined"/>.</summary>
    public static string Expand(string input, IReadOnlyDictionary<string, string> defined)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(defined);
        var text = new StringBuilder(input.Length);
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] != '$' || i + 1 == input.Length)
            {
                text.Append(input[i]);
                continue;
            }

            var next = input[i + 1];
            if (next == '$')
            {
                text.Append('$');
                i++;
            }
            else if (next == '(' && input.IndexOf(')', i + 2) is var close and > 0)
            {
                var name = input[(i + 2)..close];
                text.Append(defined.TryGetValue(name, out var value) ? value : $"$({name})");
                i = close;
            }
            else
            {
                // Not a reference ("$x", or "$(" never closed): both characters as written.
                text.Append('$').Append(next);
                i++;
            }
        }

        return text.ToString();
    }
}
