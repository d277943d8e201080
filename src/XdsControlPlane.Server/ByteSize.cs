using System.Globalization;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Server;

/// <summary>A size on the command line: whole bytes, or a whole number with a binary suffix <c>Ki</c>, <c>Mi</c> or <c>Gi</c> (as Kubernetes quantities).</summary>
internal static partial class ByteSize
{
    /// <summary>Reads <paramref name="text"/> (<c>65536</c>, <c>512Ki</c>, <c>4Mi</c>, <c>1Gi</c>).</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        if (Pattern().Match(text) is not { Success: true } match || !long.TryParse(match.Groups["number"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var shift = match.Groups["unit"].Value switch
        {
            "Ki" => 10,
            "Mi" => 20,
            "Gi" => 30,
            _ => 0,
        };
        if (number > long.MaxValue >> shift)
        {
            return false;
        }

        bytes = number << shift;
        return true;
    }

    [GeneratedRegex("^(?<number>[0-9]{1,18})(?<unit>Ki|Mi|Gi)?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
