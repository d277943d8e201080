using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using XdsControlPlane.Server.ListenerTls;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// How a ServiceAccount token's verdict is reached and reused: the verifier asks the fake API server's TokenReview
/// through the official client (<see cref="KubernetesTokenReviewer"/>), on a fake clock — how long verdicts are reused
/// (never past the token's expiry), how many are kept, how many reviews run at once, and that streams presenting the
/// same token wait for one review.
/// </summary>
public sealed class ServiceAccountTokenVerifierTests
{
    private const string ReviewPermission = "authentication.k8s.io/tokenreviews:create";
    private static readonly string[] OurAudience = [TokenReviewOptions.DefaultAudience];
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task AuthenticatedVerdict_ReusedForCacheTtl_ButNeverPastTheTokensExpiry()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var api = await FakeApiServer.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var verifier = Verifier(api, clock, new TokenReviewOptions { CacheTtl = TimeSpan.FromMinutes(2) });
        var shortLived = api.IssueServiceAccountToken("shop", "web", OurAudience, TimeSpan.FromSeconds(60));
        var longLived = api.IssueServiceAccountToken("shop", "orders", OurAudience, TimeSpan.FromHours(1));

        var first = await verifier.VerifyAsync(shortLived, cancel.Token);
        await verifier.VerifyAsync(longLived, cancel.Token);
        clock.Advance(TimeSpan.FromSeconds(58));
        await verifier.VerifyAsync(shortLived, cancel.Token);
        await verifier.VerifyAsync(longLived, cancel.Token);
        var cachedReviews = api.RequestCount(ReviewPermission);
        clock.Advance(TimeSpan.FromSeconds(4));
        await verifier.VerifyAsync(shortLived, cancel.Token);
        await verifier.VerifyAsync(longLived, cancel.Token);
        var afterExpiry = api.RequestCount(ReviewPermission);
        clock.Advance(TimeSpan.FromSeconds(60));
        await verifier.VerifyAsync(longLived, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(first.Kind, Is.EqualTo(TokenVerdictKind.Authenticated));
            Assert.That(first.Identity?.ToString(), Is.EqualTo("spiffe://cluster.local/ns/shop/sa/web"));
            Assert.That(cachedReviews, Is.EqualTo(2), "within both lifetimes: reused");
            Assert.That(afterExpiry, Is.EqualTo(3), "62 s: the 60 s token is reviewed again, the 1 h one still reused");
            Assert.That(api.RequestCount(ReviewPermission), Is.EqualTo(4), "122 s: past CacheTtl, the 1 h token is reviewed again");
        });
    }

    [Test]
    public async Task RefusedVerdict_ReusedForRefusedCacheTtl_FailuresNotAtAll()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var api = await FakeApiServer.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var verifier = Verifier(api, clock, new TokenReviewOptions { RefusedCacheTtl = TimeSpan.FromSeconds(30) });
        var forTheApiServer = api.IssueServiceAccountToken("shop", "web");
        var good = api.IssueServiceAccountToken("shop", "web", OurAudience);

        var refused = await verifier.VerifyAsync(forTheApiServer, cancel.Token);
        await verifier.VerifyAsync(forTheApiServer, cancel.Token);
        clock.Advance(TimeSpan.FromSeconds(31));
        await verifier.VerifyAsync(forTheApiServer, cancel.Token);
        var refusedReviews = api.RequestCount(ReviewPermission);
        api.TokenReviewsFailWith = 500;
        var failed = await verifier.VerifyAsync(good, cancel.Token);
        await verifier.VerifyAsync(good, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That((refused.Kind, refused.Reason), Is.EqualTo((TokenVerdictKind.Refused, TokenVerdict.Invalid)));
            Assert.That(refusedReviews, Is.EqualTo(2), "the refusal reused for 30 s, then asked again");
            Assert.That((failed.Kind, failed.Reason), Is.EqualTo((TokenVerdictKind.Unavailable, TokenVerdict.ReviewFailed)));
            Assert.That(api.RequestCount(ReviewPermission), Is.EqualTo(4), "a failed review is asked again");
        });
    }

    [Test]
    public async Task ManyStreams_SameTokenWaitsForOneReview_AndAtMostMaxConcurrentReviewsRun()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var api = await FakeApiServer.StartAsync();
        using var verifier = Verifier(api, new FakeTimeProvider(DateTimeOffset.UtcNow), new TokenReviewOptions { MaxConcurrentReviews = 3 });
        var release = new TaskCompletionSource();
        api.HoldTokenReviews(release.Task);
        var tokens = Enumerable.Range(0, 10).Select(i => api.IssueServiceAccountToken("shop", $"web-{i}", OurAudience)).ToArray();

        var verdicts = tokens.Concat(tokens).Select(token => verifier.VerifyAsync(token, cancel.Token)).ToArray();
        await Eventually.WaitAsync(() => api.TokenReviewsPeak == 3, "three reviews to reach the API server", cancel.Token);
        release.SetResult();
        var all = await Task.WhenAll(verdicts);

        Assert.Multiple(() =>
        {
            Assert.That(all, Has.All.Property(nameof(TokenVerdict.Kind)).EqualTo(TokenVerdictKind.Authenticated));
            Assert.That(api.RequestCount(ReviewPermission), Is.EqualTo(10), "twenty streams, ten tokens, ten reviews");
            Assert.That(api.TokenReviewsPeak, Is.EqualTo(3), "never more than MaxConcurrentReviews at once");
        });
    }

    [Test]
    public async Task FullCache_DropsTheOldestVerdictFirst()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var api = await FakeApiServer.StartAsync();
        using var verifier = Verifier(api, new FakeTimeProvider(DateTimeOffset.UtcNow), new TokenReviewOptions { CacheSize = 2 });
        var (a, b, c) = (api.IssueServiceAccountToken("shop", "a", OurAudience), api.IssueServiceAccountToken("shop", "b", OurAudience), api.IssueServiceAccountToken("shop", "c", OurAudience));

        foreach (var token in new[] { a, b, c, c, b })
        {
            await verifier.VerifyAsync(token, cancel.Token);
        }

        var beforeA = api.RequestCount(ReviewPermission);
        await verifier.VerifyAsync(a, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(beforeA, Is.EqualTo(3), "b and c kept");
            Assert.That(api.RequestCount(ReviewPermission), Is.EqualTo(4), "a, the oldest, was dropped when c came");
        });
    }

    [TestCase("system:serviceaccount:shop:web", "spiffe://cluster.local/ns/shop/sa/web")]
    [TestCase("system:serviceaccount:shop:web.v2", "spiffe://cluster.local/ns/shop/sa/web.v2")]
    [TestCase("system:serviceaccount:shop", null)]
    [TestCase("system:serviceaccount:shop:web:extra", null)]
    [TestCase("system:serviceaccount:Shop:web", null)]
    [TestCase("system:serviceaccounts:shop", null)]
    [TestCase("alice@example.com", null)]
    [TestCase("", null)]
    public void IdentityOf_ServiceAccountUsersOnly(string username, string? expected) =>
        Assert.That(ServiceAccountToken.IdentityOf(username, "cluster.local")?.ToString(), Is.EqualTo(expected));

    [TestCase("Bearer abc.def.ghi", "abc.def.ghi", null)]
    [TestCase("bearer abc.def.ghi", "abc.def.ghi", null)]
    [TestCase("Basic YWxpY2U6c2VjcmV0", null, "is not sent as 'authorization: Bearer <token>'")]
    [TestCase("Bearer", null, "is not sent as 'authorization: Bearer <token>'")]
    [TestCase("Bearer  ", null, "is empty")]
    [TestCase("Bearer abc def", null, "holds characters a token cannot (letters, digits and -._~+/= only)")]
    public void FromMetadata_TakesOnlyABearerTokenOfTheRightShape(string metadata, string? token, string? problem)
    {
        Assert.That(ServiceAccountToken.FromMetadata(metadata, out var why), Is.EqualTo(token));
        Assert.That(why, Is.EqualTo(problem));
    }

    [Test]
    public void Scrub_RemovesTheTokenAndEachOfItsParts_AndBoundsTheText()
    {
        const string Token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3ZWIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        var text = $"[invalid bearer token {Token}, payload eyJzdWIiOiJ3ZWIifQ rejected]\n" + new string('x', 500);

        var scrubbed = ServiceAccountToken.Scrub(text, Token);

        Assert.Multiple(() =>
        {
            Assert.That(scrubbed, Does.StartWith("[invalid bearer token <token>, payload <token> rejected]?"));
            Assert.That(scrubbed, Has.Length.EqualTo(201), "200 characters and an ellipsis");
        });
    }

    private static ServiceAccountTokenVerifier Verifier(FakeApiServer api, TimeProvider clock, TokenReviewOptions options) => new(
        new KubernetesTokenReviewer(new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = api.Url.ToString() })),
        options,
        "cluster.local",
        clock,
        new NodeIdentityMetrics(new CollectorRegistry()),
        NullLogger<ServiceAccountTokenVerifier>.Instance);
}
