using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace XdsControlPlane.Xds.Tests;

/// <summary>Every log event of a test server: level, event id, rendered message and whether it carried an exception.</summary>
internal sealed class CollectingLogs : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Message, Exception? Exception)> _events = new();

    /// <summary>The rendered messages, in order.</summary>
    public IReadOnlyList<string> Messages => [.. _events.Select(e => e.Message)];

    /// <summary>The events, in order.</summary>
    public IReadOnlyList<(LogLevel Level, int EventId, string Message, Exception? Exception)> Events => [.. _events];

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _events.Enqueue((logLevel, eventId.Id, formatter(state, exception), exception));

    public void Dispose()
    {
    }
}
