using System.Text;
using Sandboxctl.Local;

namespace Sandboxctl.Tests;

/// <summary>
/// The HTTP/1.x routing-key injector of <c>local connect --expose</c>: every request of a connection gets
/// <c>x-routing-key</c> unless it has it (or baggage's <c>routing-key</c>), whatever the body framing and however the
/// bytes are split; what it cannot parse passes through untouched and is reported once.
/// </summary>
public sealed class LocalRoutingKeyInjectorTests
{
    private const string Key = "feature-x";

    private static readonly int[] Splits = [0, 1, 2, 3, 5, 7, 13, 64];

    [TestCase(
        "GET / HTTP/1.1\r\nHost: orders\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: orders\r\nx-routing-key: feature-x\r\n\r\n",
        TestName = "Inject_OneRequestWithoutKey_AddsTheHeader")]
    [TestCase(
        "GET / HTTP/1.1\r\nHost: orders\r\nX-Routing-Key: other\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: orders\r\nX-Routing-Key: other\r\n\r\n",
        TestName = "Inject_RequestWithTheHeader_Unchanged")]
    [TestCase(
        "GET / HTTP/1.1\r\nbaggage: user=1, routing-key=other;p=1\r\n\r\n",
        "GET / HTTP/1.1\r\nbaggage: user=1, routing-key=other;p=1\r\n\r\n",
        TestName = "Inject_RequestWithBaggageKey_Unchanged")]
    [TestCase(
        "GET / HTTP/1.1\r\nbaggage: user=1\r\n\r\n",
        "GET / HTTP/1.1\r\nbaggage: user=1\r\nx-routing-key: feature-x\r\n\r\n",
        TestName = "Inject_BaggageWithoutKey_AddsTheHeader")]
    [TestCase(
        "POST /a HTTP/1.1\r\nContent-Length: 24\r\n\r\nGET /fake HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        "POST /a HTTP/1.1\r\nContent-Length: 24\r\nx-routing-key: feature-x\r\n\r\nGET /fake HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nx-routing-key: feature-x\r\n\r\n",
        TestName = "Inject_PipelinedWithContentLength_BodyUntouchedNextRequestKeyed")]
    [TestCase(
        "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nGET \r\n10\r\n/ HTTP/1.1\r\n\r\nxx\r\n0\r\nTrailer: t\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nx-routing-key: feature-x\r\n\r\n4;x=y\r\nGET \r\n10\r\n/ HTTP/1.1\r\n\r\nxx\r\n0\r\nTrailer: t\r\n\r\nGET /b HTTP/1.1\r\nx-routing-key: feature-x\r\n\r\n",
        TestName = "Inject_PipelinedChunkedWithTrailer_BodyUntouchedNextRequestKeyed")]
    [TestCase(
        "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nx-routing-key: feature-x\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        TestName = "Inject_Upgrade_KeysTheUpgradeThenPassesThrough")]
    [TestCase(
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        TestName = "Inject_Http2Preface_PassesThrough")]
    [TestCase(
        "\r\nGET / HTTP/1.0\r\n\r\n",
        "\r\nGET / HTTP/1.0\r\nx-routing-key: feature-x\r\n\r\n",
        TestName = "Inject_LeadingEmptyLine_Kept")]
    public void Inject_AnySplit_SameResult(string input, string expected)
    {
        foreach (var split in Splits)
        {
            var injector = new RoutingKeyInjector(Key);
            Assert.That(Run(injector, input, split), Is.EqualTo(expected), $"split every {split} bytes");
        }
    }

    [TestCase("\u0016\u0003\u0001garbage\r\n\r\nGET / HTTP/1.1\r\n\r\n", TestName = "Inject_NotHttp_PassesThroughAndSaysSoOnce")]
    [TestCase("GET / HTTP/1.1\r\nno colon here\r\n\r\nGET / HTTP/1.1\r\n\r\n", TestName = "Inject_BadHeaderLine_PassesThroughAndSaysSoOnce")]
    [TestCase("POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\nGET / HTTP/1.1\r\n\r\n", TestName = "Inject_BadContentLength_PassesThroughAndSaysSoOnce")]
    [TestCase("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET / HTTP/1.1\r\n\r\n", TestName = "Inject_BadChunkSize_PassesThroughAndSaysSoOnce")]
    public void Inject_Unparseable_UntouchedAndReportedOnce(string input)
    {
        foreach (var split in Splits)
        {
            var reports = new List<string>();
            var injector = new RoutingKeyInjector(Key, reports.Add);
            var output = Run(injector, input, split);
            Assert.Multiple(() =>
            {
                Assert.That(output, Does.Not.Contain("GET / HTTP/1.1\r\nx-routing-key"), $"split every {split} bytes");
                Assert.That(output.Replace("x-routing-key: feature-x\r\n", "", StringComparison.Ordinal), Is.EqualTo(input), "only the first request may have been keyed");
                Assert.That(reports, Has.Count.EqualTo(1), $"split every {split} bytes");
                Assert.That(injector.PassingThrough, Is.True);
            });
        }
    }

    [Test]
    public void Inject_HeadLargerThanLimit_PassesThroughUntouchedAndSaysSo()
    {
        var input = "GET / HTTP/1.1\r\nx-big: " + new string('a', RoutingKeyInjector.MaxHead) + "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        var reports = new List<string>();
        var injector = new RoutingKeyInjector(Key, reports.Add);

        var output = Run(injector, input, 4096);

        Assert.Multiple(() =>
        {
            Assert.That(output, Is.EqualTo(input));
            Assert.That(reports.Single(), Does.Contain("64 KiB"));
        });
    }

    [Test]
    public void Inject_ManyKeepAliveRequests_EveryOneKeyed()
    {
        var requests = string.Concat(Enumerable.Range(0, 100).Select(i => i % 2 == 0
            ? $"POST /{i} HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            : $"PUT /{i} HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));

        var output = Run(new RoutingKeyInjector(Key), requests, 333);

        Assert.That(output.Split("x-routing-key: feature-x\r\n").Length - 1, Is.EqualTo(100));
    }

    /// <summary>Clients that speak first and are not HTTP (Redis, PostgreSQL, TLS) get their bytes through at once, not after a head end that never comes.</summary>
    [TestCase("PING\r\n", TestName = "Inject_RedisPing_PassesAtOnce")]
    [TestCase("\u0000\u0000\u0000\u0008\u0004\u00d2\u0016\u002f", TestName = "Inject_PostgresSslRequest_PassesAtOnce")]
    [TestCase("\u0016\u0003\u0001\u0002\u0000\u0001", TestName = "Inject_TlsClientHello_PassesAtOnce")]
    [TestCase("GET / HTTP/1.1\nHost: x\n\n", TestName = "Inject_BareLineFeeds_PassesAtOnce")]
    public void Inject_NotAnHttpRequestStart_NothingHeldBack(string input)
    {
        var reports = new List<string>();
        var injector = new RoutingKeyInjector(Key, reports.Add);

        var sent = Encoding.Latin1.GetString(injector.Transform(Encoding.Latin1.GetBytes(input)).Span);

        Assert.Multiple(() =>
        {
            Assert.That(sent, Is.EqualTo(input), "every byte is sent now, unchanged");
            Assert.That(injector.PassingThrough, Is.True);
            Assert.That(reports, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void Flush_IncompleteHead_ReturnsHeldBytes()
    {
        var injector = new RoutingKeyInjector(Key);

        var sent = injector.Transform(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHo"));

        Assert.Multiple(() =>
        {
            Assert.That(sent.Length, Is.Zero);
            Assert.That(Encoding.ASCII.GetString(injector.Flush().Span), Is.EqualTo("GET / HTTP/1.1\r\nHo"));
        });
    }

    private static string Run(RoutingKeyInjector injector, string input, int split)
    {
        var bytes = Encoding.Latin1.GetBytes(input);
        var output = new MemoryStream();
        var size = split == 0 ? bytes.Length : split;
        for (var at = 0; at < bytes.Length; at += size)
        {
            output.Write(injector.Transform(bytes.AsMemory(at, Math.Min(size, bytes.Length - at))).Span);
        }

        output.Write(injector.Flush().Span);
        return Encoding.Latin1.GetString(output.ToArray());
    }
}
