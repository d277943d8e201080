using Microsoft.Extensions.Logging;

namespace XdsControlPlane.Xds.Tests;

/// <summary>The log boundary itself: whatever a call site passes, client text reaches the log printable and capped.</summary>
public sealed class XdsLogTests
{
    private const string Forged = "\u001b[31m\r\n[12:00:00 INF] forged";

    [Test]
    public void ClientTextArguments_AreRenderedPrintableOnOneLineAndCapped()
    {
        var logger = new CollectingLogger();

        XdsLog.StreamOpened(logger, 1, "node" + Forged, new ClientAgent("agent", "1"), "group" + Forged);
        XdsLog.Nack(logger, "node" + Forged, 1, "type" + Forged, "v1", "error" + Forged + new string('e', 10_000));
        XdsLog.StaleNonce(logger, 1, "type" + Forged, "nonce" + Forged, "2");
        XdsLog.InvalidRequest(logger, 1, "reason" + Forged);
        XdsLog.StreamClosed(logger, 1, new string('n', 10_000));

        Assert.Multiple(() =>
        {
            Assert.That(logger.Messages, Has.Count.EqualTo(5));
            Assert.That(logger.Messages, Has.None.Contain("\u001b").And.None.Contain("\r").And.None.Contain("\n"));
            Assert.That(logger.Messages[0], Is.EqualTo("xDS stream 1 opened by node node?[31m??[12:00:00 INF] forged (agent 1, group group?[31m??[12:00:00 INF] forged)"));
            Assert.That(logger.Messages[1], Does.Contain("rejected type?[31m??[12:00:00 INF] forged version v1: error?[31m  [12:00:00 INF] forgedeee"));
            Assert.That(logger.Messages[1], Has.Length.LessThan(ClientText.MaxMessageLength + 200), "the NACK text is capped");
            Assert.That(logger.Messages[4], Has.Length.LessThan(ClientText.MaxNameLength + 100), "a node id is capped");
        });
    }

    private sealed class CollectingLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }
}
