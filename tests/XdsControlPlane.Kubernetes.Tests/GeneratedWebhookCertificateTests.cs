using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The generated webhook certificate's renewal on a fake clock: nothing waits on real timers.</summary>
public sealed class GeneratedWebhookCertificateTests
{
    [Test]
    public async Task GeneratedCertificate_ThirdOfItsLifeLeft_IsRenewedKeepingThePreviousCaInTheBundle()
    {
        using var cancel = new CancellationTokenSource(Eventually.Timeout);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new WebhookCertificateStore();
        var options = new WebhookListenerOptions { CertificateLifetime = TimeSpan.FromDays(30), CheckInterval = TimeSpan.FromHours(1) };
        using var source = new GeneratedCertificateSource(options, ["localhost"], store, time, NullLogger<GeneratedCertificateSource>.Instance);
        await source.StartAsync(cancel.Token);
        var first = store.Bundle!;

        // The check loop registers its timer on its own thread: each poll moves the clock one check interval on.
        time.Advance(TimeSpan.FromDays(21));
        await Eventually.WaitAsync(
            () =>
            {
                time.Advance(options.CheckInterval);
                return store.Bundle != first;
            },
            "the certificate to be renewed");
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(store.CaPem!);

        Assert.That(store.Certificate!.NotAfter.ToUniversalTime(), Is.GreaterThan(first.Load().NotAfter.ToUniversalTime().AddDays(20)));
        Assert.That(bundle.Select(c => c.Thumbprint).Last(), Is.EqualTo(X509Certificate2.CreateFromPem(first.CaPem).Thumbprint), "the previous CA stays trusted");
        await source.StopAsync(cancel.Token);
    }
}
