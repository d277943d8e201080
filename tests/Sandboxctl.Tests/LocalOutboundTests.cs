using System.Text;
using Microsoft.Extensions.Primitives;
using Sandboxctl.Local.Outbound;

namespace Sandboxctl.Tests;

/// <summary>The pure parts of the <c>--expose</c> proxy: telling HTTP by its first bytes, completing the routing-key headers, the socket pair.</summary>
public sealed class LocalOutboundTests
{
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "Http1")]
    [TestCase("POST /orders?x=1 HTTP/1.0\r\n", "Http1")]
    [TestCase("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Http2")]
    [TestCase("PRI * HTTP/2.0\r\n", "Undecided", TestName = "Classify_PartOfThePreface_Undecided")]
    [TestCase("GE", "Undecided")]
    [TestCase("GET /orders HT", "Undecided")]
    [TestCase("\u0016\u0003\u0001", "Other", TestName = "Classify_TlsClientHello_Other")]
    [TestCase("*1\r\n$4\r\nPING\r\n", "Other", TestName = "Classify_Redis_Other")]
    [TestCase("get key\r\n", "Other")]
    [TestCase("HELLO WORLD\r\n", "Other")]
    [TestCase("GET / HTTP/1.1\n", "Other", TestName = "Classify_BareLineFeed_Other")]
    [TestCase("GET / HTTP/2\r\n", "Other")]
    [TestCase(" GET / HTTP/1.1\r\n", "Other")]
    [TestCase("ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n", "Other", TestName = "Classify_MethodOver20Letters_Other")]
    public void Classify_FirstBytes_SaysWhatTheAppSpeaks(string first, string expected) =>
        Assert.That(FirstBytes.Classify(Encoding.Latin1.GetBytes(first)).ToString(), Is.EqualTo(expected));

    [Test]
    public void Classify_RequestLineLongerThanLooked_Http1() =>
        Assert.That(FirstBytes.Classify(Encoding.ASCII.GetBytes("GET /" + new string('a', FirstBytes.MaxLine))), Is.EqualTo(FirstBytesKind.Http1));

    [TestCase(null, null, "feature-x", "routing-key=feature-x", TestName = "Complete_NoKey_BothCarriersGetTheAgentsKey")]
    [TestCase(null, "tenant=acme", "feature-x", "tenant=acme,routing-key=feature-x", TestName = "Complete_OtherBaggage_MemberAppended")]
    [TestCase(null, "tenant=acme, routing-key=mine;ttl=60", "mine", "tenant=acme, routing-key=mine;ttl=60", TestName = "Complete_KeyInBaggage_HeaderGetsItBaggageUntouched")]
    [TestCase("feature-x", null, "feature-x", "routing-key=feature-x", TestName = "Complete_SameKeyInHeader_NotDuplicated")]
    [TestCase("other", "tenant=acme", "other", "tenant=acme,routing-key=other", TestName = "Complete_OtherKeyInHeader_KeptAndPropagated")]
    [TestCase("other", "routing-key=third", "other", "routing-key=third", TestName = "Complete_CarriersDisagree_LeftAsSent")]
    [TestCase(null, "my-routing-key=a", "feature-x", "my-routing-key=a,routing-key=feature-x", TestName = "Complete_SimilarMemberName_NotTheKey")]
    [TestCase(null, "  ", "feature-x", "routing-key=feature-x", TestName = "Complete_BlankBaggage_Replaced")]
    public void Complete_RequestHeaders_KeyInBothCarriers(string? header, string? baggage, string expectedHeader, string expectedBaggage)
    {
        var (completedHeader, completedBaggage) = RoutingKeyHeaders.Complete(header is null ? StringValues.Empty : header, baggage is null ? StringValues.Empty : baggage, "feature-x");

        Assert.Multiple(() =>
        {
            Assert.That(completedHeader.ToString(), Is.EqualTo(expectedHeader));
            Assert.That(completedBaggage.ToString(), Is.EqualTo(expectedBaggage));
        });
    }

    [Test]
    public void Complete_TwoBaggageHeaders_JoinedWithTheMember()
    {
        var (_, baggage) = RoutingKeyHeaders.Complete(StringValues.Empty, new StringValues(["a=1", "b=2"]), "feature-x");

        Assert.That(baggage.ToString(), Is.EqualTo("a=1,b=2,routing-key=feature-x"));
    }

    [Test]
    public async Task SocketPair_Created_CarriesBothWaysAndHalfCloses()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var (first, second) = await SocketPair.CreateAsync(timeout.Token);
        using (first)
        using (second)
        {
            await first.SendAsync("ping"u8.ToArray(), timeout.Token);
            await second.SendAsync("pong"u8.ToArray(), timeout.Token);
            first.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            var atSecond = new byte[4];
            var atFirst = new byte[4];
            await second.ReceiveAsync(atSecond, timeout.Token);
            await first.ReceiveAsync(atFirst, timeout.Token);
            var end = await second.ReceiveAsync(new byte[1], timeout.Token);

            Assert.Multiple(() =>
            {
                Assert.That(Encoding.ASCII.GetString(atSecond), Is.EqualTo("ping"));
                Assert.That(Encoding.ASCII.GetString(atFirst), Is.EqualTo("pong"));
                Assert.That(end, Is.Zero, "the half-close arrives");
            });
        }
    }
}
