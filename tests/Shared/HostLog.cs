using System.Collections.Concurrent;
using System.Globalization;
using Serilog.Core;
using Serilog.Events;

namespace XdsControlPlane.Testing;

/// <summary>
/// Every log event of a server host under test (pass it to <c>InProcessServer.WithLog</c>). Host-level tests end
/// with <see cref="AssertNoUnexpectedWarnings"/>: a Warning or Error the test did not name fails it, as grpc-dotnet's
/// functional tests do, so a new warning on a normal path cannot pass unnoticed.
/// </summary>
internal sealed class HostLog : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();
    private readonly ConcurrentQueue<string> _expected = new();

    /// <summary>Every event so far: its event id (when it has one), level and rendered message.</summary>
    public IEnumerable<(int? EventId, LogEventLevel Level, string Text)> Events =>
        _events.Select(e => (EventIdOf(e), e.Level, e.RenderMessage(CultureInfo.InvariantCulture)));

    /// <inheritdoc />
    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    /// <summary>Forgets what was logged and expected so far (between the tests of a shared host).</summary>
    public void Clear()
    {
        _events.Clear();
        _expected.Clear();
    }

    /// <summary>Whether any message contains <paramref name="text"/>.</summary>
    public bool Contains(string text) => Events.Any(e => e.Text.Contains(text, StringComparison.Ordinal));

    /// <summary>Warnings and errors whose text contains <paramref name="text"/> are what the test provokes.</summary>
    public void Expect(string text) => _expected.Enqueue(text);

    /// <summary>Every event as the console would print it with <paramref name="formatter"/>.</summary>
    public string Render(Serilog.Formatting.ITextFormatter formatter)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        foreach (var e in _events)
        {
            formatter.Format(e, text);
        }

        return text.ToString();
    }

    /// <summary>Fails the test when a Warning or Error was logged that no <see cref="Expect"/> call names.</summary>
    public void AssertNoUnexpectedWarnings()
    {
        var unexpected = _events
            .Where(e => e.Level >= LogEventLevel.Warning)
            .Select(e => $"{e.Level}: {e.RenderMessage(CultureInfo.InvariantCulture)}{(e.Exception is null ? "" : " " + e.Exception.Message)}")
            .Where(line => !_expected.Any(expected => line.Contains(expected, StringComparison.Ordinal)))
            .ToArray();
        Assert.That(unexpected, Is.Empty, "the server logged warnings or errors this test did not expect");
    }

    private static int? EventIdOf(LogEvent e) =>
        e.Properties.TryGetValue("EventId", out var id) && id is StructureValue s && s.Properties.FirstOrDefault(p => p.Name == "Id")?.Value is ScalarValue { Value: int value } ? value : null;
}
