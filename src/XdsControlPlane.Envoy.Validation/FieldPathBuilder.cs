using System.Globalization;
using System.Text;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// The path to the field being visited, kept as a stack of segments and turned into text
/// (<c>virtual_hosts[0].routes[2].match</c>) only when a violation is reported.
/// </summary>
internal sealed class FieldPathBuilder
{
    private readonly List<Segment> _segments = new(32);

    public void PushField(string name) => _segments.Add(new Segment(name, null));

    public void PushIndex(int index) => _segments.Add(new Segment(null, index));

    public void PushKey(object key) => _segments.Add(new Segment(null, key));

    public void Pop() => _segments.RemoveAt(_segments.Count - 1);

    /// <summary>The current path with <paramref name="last"/> appended as a field name.</summary>
    public string With(string last)
    {
        PushField(last);
        var text = ToString();
        Pop();
        return text;
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var segment in _segments)
        {
            switch (segment)
            {
                case { Name: { } name }:
                    if (text.Length > 0)
                    {
                        text.Append('.');
                    }

                    text.Append(name);
                    break;
                case { Key: string key }:
                    text.Append("[\"").Append(key.Replace("\"", "\\\"", StringComparison.Ordinal)).Append("\"]");
                    break;
                case { Key: bool flag }:
                    text.Append('[').Append(flag ? "true" : "false").Append(']');
                    break;
                case { Key: { } other }:
                    text.Append('[').Append(Convert.ToString(other, CultureInfo.InvariantCulture)).Append(']');
                    break;
            }
        }

        return text.Length == 0 ? "(root)" : text.ToString();
    }

    private readonly record struct Segment(string? Name, object? Key);
}
