using Microsoft.Extensions.Logging;

namespace Sandboxctl.Local;

/// <summary>The multiplexer's log as the agent's warnings: Warning and above reach the developer, the rest is dropped.</summary>
internal sealed class ReporterLogger(AgentReporter reporter) : ILogger
{
    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    /// <inheritdoc />
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    /// <inheritdoc />
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (IsEnabled(logLevel))
        {
            reporter.Warning(formatter(state, exception));
        }
    }
}
