using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sandboxctl;

/// <summary>Output formats of <c>-o</c>.</summary>
public enum OutputFormat
{
    /// <summary>A table for people (the default where a command has one).</summary>
    Table,

    /// <summary>JSON.</summary>
    Json,

    /// <summary>YAML.</summary>
    Yaml,
}

/// <summary>Where a command writes: results to stdout (through Spectre.Console), problems to stderr.</summary>
internal sealed class CliOutput(IAnsiConsole console, TextWriter error, bool verbose)
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public IAnsiConsole Console { get; } = console;

    public TextWriter Error { get; } = error;

    public bool Verbose { get; } = verbose;

    /// <summary>Writes a document as JSON or YAML.</summary>
    public void Write(JsonNode document, OutputFormat format)
    {
        var text = format == OutputFormat.Yaml ? XdsControlPlane.Model.YamlJson.ToYaml(document) : document.ToJsonString(Indented) + "\n";
        Console.Profile.Out.Writer.Write(text);
        Console.Profile.Out.Writer.Flush();
    }

    /// <summary>Writes plain text unchanged (no markup).</summary>
    public void WriteText(string text)
    {
        Console.Profile.Out.Writer.Write(text);
        Console.Profile.Out.Writer.Flush();
    }

    public void Problem(string message) => Error.WriteLine($"error: {message}");
}
