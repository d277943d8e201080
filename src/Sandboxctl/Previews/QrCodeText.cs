using System.Collections;
using System.Runtime.CompilerServices;
using System.Text;
using QRCoder;

namespace Sandboxctl.Previews;

/// <summary>
/// A QR code of a link as terminal text: two rows of modules per line with the half-block characters, light modules
/// drawn (as <c>qrencode -t UTF8</c> does, for the usual light-on-dark terminal) and the quiet zone included. QRCoder
/// is loaded only when this runs (<c>--qr</c>), never at start-up.
/// </summary>
internal static class QrCodeText
{
    private const char Both = '█';
    private const char Upper = '▀';
    private const char Lower = '▄';
    private const char Neither = ' ';

    /// <summary>The code of <paramref name="text"/> (error correction level M), one line per two module rows, each line ending in a line feed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Render(string text) => Draw(Modules(text));

    /// <summary>The module matrix (true: dark), quiet zone included.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static IReadOnlyList<BitArray> Modules(string text)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        return [.. data.ModuleMatrix.Select(row => new BitArray(row))];
    }

    /// <summary>Draws <paramref name="modules"/> (square, true: dark) with light modules as ink.</summary>
    public static string Draw(IReadOnlyList<BitArray> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        var size = modules.Count;
        var lines = new StringBuilder();
        for (var row = 0; row < size; row += 2)
        {
            for (var column = 0; column < size; column++)
            {
                var upper = !modules[row][column];
                var lower = row + 1 < size ? !modules[row + 1][column] : true;
                lines.Append((upper, lower) switch
                {
                    (true, true) => Both,
                    (true, false) => Upper,
                    (false, true) => Lower,
                    _ => Neither,
                });
            }

            lines.Append('\n');
        }

        return lines.ToString();
    }
}
