using System.Globalization;
using System.Net;
using System.Text;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// A small multiple of line charts as SVG text (no tooling): one panel per quantity (one or more lines), all against the same time axis in
/// minutes, each panel's y axis from 0 to a rounded-up maximum.
/// </summary>
internal static class SvgChart
{
    private const int Width = 720;
    private const int PanelHeight = 130;
    private const int Left = 70;
    private const int Right = 20;
    private const int Top = 52;
    private const int Gap = 45;

    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

    /// <summary>The SVG of <paramref name="panels"/> over <paramref name="minutes"/>, titled <paramref name="title"/> and <paramref name="subtitle"/>: each panel's lines share its y axis, and a panel of more than one line has a legend.</summary>
    public static string Render(string title, string subtitle, IReadOnlyList<double> minutes, IReadOnlyList<ChartPanel> panels)
    {
        var height = Top + (panels.Count * (PanelHeight + Gap));
        var svg = new StringBuilder();
        svg.Append(I($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n"));
        svg.Append(I($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n"));
        svg.Append(I($"<text x=\"{Left}\" y=\"20\" font-size=\"13\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>\n"));
        svg.Append(I($"<text x=\"{Left}\" y=\"37\" fill=\"#555\">{WebUtility.HtmlEncode(subtitle)}</text>\n"));
        var end = Math.Max(minutes.Count > 0 ? minutes[^1] : 1, 1e-3);
        for (var p = 0; p < panels.Count; p++)
        {
            var (name, unit, lines) = panels[p];
            var top = Top + (p * (PanelHeight + Gap)) + 15;
            var bottom = top + PanelHeight;
            var known = lines.SelectMany(l => l.Values).OfType<double>().ToList();
            var max = Nice(known.Count == 0 ? 1 : known.Max());
            svg.Append(I($"<text x=\"{Left}\" y=\"{top - 6}\" font-weight=\"bold\">{WebUtility.HtmlEncode(name)} ({WebUtility.HtmlEncode(unit)})</text>\n"));
            svg.Append(I($"<rect x=\"{Left}\" y=\"{top}\" width=\"{Width - Left - Right}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#999\"/>\n"));
            foreach (var fraction in (double[])[0, 0.5, 1])
            {
                var y = bottom - (fraction * PanelHeight);
                svg.Append(I($"<line x1=\"{Left}\" y1=\"{y:0.#}\" x2=\"{Width - Right}\" y2=\"{y:0.#}\" stroke=\"#eee\"/><text x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{max * fraction:0.##}</text>\n"));
            }

            foreach (var fraction in (double[])[0, 0.25, 0.5, 0.75, 1])
            {
                var x = Left + (fraction * (Width - Left - Right));
                svg.Append(I($"<text x=\"{x:0.#}\" y=\"{bottom + 14}\" text-anchor=\"middle\">{end * fraction:0.#} min</text>\n"));
            }

            for (var l = 0; l < lines.Count; l++)
            {
                var color = Colors[l % Colors.Length];
                var points = minutes.Zip(lines[l].Values)
                    .Where(v => v.Second is not null)
                    .Select(v => I($"{Left + (v.First / end * (Width - Left - Right)):0.#},{bottom - (v.Second!.Value / max * PanelHeight):0.#}"));
                svg.Append(I($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{string.Join(' ', points)}\"/>\n"));
                if (lines.Count > 1)
                {
                    var y = top + 14 + (l * 14);
                    svg.Append(I($"<line x1=\"{Left + 8}\" y1=\"{y - 4}\" x2=\"{Left + 26}\" y2=\"{y - 4}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{Left + 30}\" y=\"{y}\">{WebUtility.HtmlEncode(lines[l].Label)}</text>\n"));
                }
            }

            if (known.Count == 0)
            {
                svg.Append(I($"<text x=\"{Width / 2}\" y=\"{top + (PanelHeight / 2)}\" text-anchor=\"middle\" fill=\"#999\">not measured</text>\n"));
            }
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="value"/>.</summary>
    private static double Nice(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        return new[] { 1, 2, 5, 10 }.Select(m => m * power).First(candidate => candidate >= value);
    }

    private static string I(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One panel of a <see cref="SvgChart"/>: its title, unit and lines (label, a value or none per time).</summary>
internal sealed record ChartPanel(string Name, string Unit, IReadOnlyList<(string Label, IReadOnlyList<double?> Values)> Lines);
