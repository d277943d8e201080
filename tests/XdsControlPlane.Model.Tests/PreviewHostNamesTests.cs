namespace XdsControlPlane.Model.Tests;

/// <summary>Preview host names: stable, one DNS label of base32 hash, distinct per owner, port and salt, long names shortened.</summary>
public sealed class PreviewHostNamesTests
{
    private const string Domain = "preview.example.com";

    [Test]
    public void Host_SameIdentityTwice_SameName()
    {
        var first = PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "salt", Domain);
        var second = PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "salt", Domain);

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.EqualTo(first));
            Assert.That(first, Does.Match("^cart-8080-[a-z2-7]{10}\\.preview\\.example\\.com$"), "service, port, 10 base32 characters, the domain");
        });
    }

    [Test]
    public void Host_DiffersPerOwnerKindNamespacePortAndSalt()
    {
        string[] hosts =
        [
            PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "salt", Domain),
            PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-y", "cart", 8080, "salt", Domain),
            PreviewHostNames.Host(Sandbox.KindName, "shop2", "feature-x", "cart", 8080, "salt", Domain),
            PreviewHostNames.Host(LocalWorkload.KindName, "shop", "feature-x", "cart", 8080, "salt", Domain),
            PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8081, "salt", Domain),
            PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "other-salt", Domain),
            PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "", Domain),
        ];

        Assert.That(hosts.Select(h => h.Split('.')[0].Split('-')[^1]), Is.Unique, "the hash part alone tells them apart");
    }

    [Test]
    public void Label_LongServiceName_ShortenedTo63AndDisambiguatedByTheHash()
    {
        var service = new string('a', 45) + "-" + new string('b', 17);
        var one = PreviewHostNames.Label(Sandbox.KindName, "shop", "one", service, 65535, "salt");
        var two = PreviewHostNames.Label(Sandbox.KindName, "shop", "two", service, 65535, "salt");

        Assert.Multiple(() =>
        {
            Assert.That(one, Has.Length.LessThanOrEqualTo(PreviewHostNames.MaxLabelLength));
            Assert.That(two, Has.Length.LessThanOrEqualTo(PreviewHostNames.MaxLabelLength));
            Assert.That(one, Is.Not.EqualTo(two));
            Assert.That(one, Does.StartWith(new string('a', 40)));
            Assert.That(one, Does.Match("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), "a valid DNS label");
            Assert.That(one, Does.Not.Contain("--"), "a name cut at a '-' does not leave it dangling before the port");
        });
    }

    [Test]
    public void Label_ServiceWithNamespace_OnlyTheNameShows_DomainIsLowerCasedWithoutTrailingDot()
    {
        var host = PreviewHostNames.Host(Sandbox.KindName, "shop", "x", "cart.billing", 80, "", "Preview.Example.com.");

        Assert.That(host, Does.Match("^cart-80-[a-z2-7]{10}\\.preview\\.example\\.com$"));
    }

    [Test]
    public void Site_Sandbox_UrlsAndAccessInSpecOrder_NoneWithoutADomain()
    {
        var sandbox = new Sandbox
        {
            Metadata = new ObjectMeta { Namespace = "shop", Name = "feature-x" },
            Spec = new SandboxSpec { Previews = [new Preview { Service = "cart", Port = 8080, Access = Preview.Public }, new Preview { Service = "web", Port = 80 }] },
        };

        var sites = PreviewSite.Of(sandbox, Domain, "salt");

        Assert.Multiple(() =>
        {
            Assert.That(sites.Select(s => (s.Status.Service, s.Status.Port, s.Status.Access)), Is.EqualTo(new[] { ("cart", 8080, Preview.Public), ("web", 80, Preview.Personal) }));
            Assert.That(sites[0].Status.Url, Is.EqualTo("https://" + PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "salt", Domain) + "/"));
            Assert.That(PreviewSite.Of(sandbox, "", "salt"), Is.Empty, "previews are off without a domain");
        });
    }

    [Test]
    public void Site_LocalWorkload_PreviewsItsOwnService_SkipsWhatValidationRefuses()
    {
        var workload = new LocalWorkload
        {
            Metadata = new ObjectMeta { Namespace = "shop", Name = "alice" },
            Spec = new LocalWorkloadSpec
            {
                Service = "cart",
                Ports = [new LocalPort { Port = 8080 }],
                Previews = [new LocalPreview { Port = 8080, Access = Preview.Shared }, new LocalPreview { Port = 0 }, new LocalPreview { Port = 8080, Access = "everyone" }, new LocalPreview { Port = 8080 }],
            },
        };

        var site = PreviewSite.Of(workload, Domain, "").Single();

        Assert.Multiple(() =>
        {
            Assert.That((site.OwnerKind, site.Namespace, site.OwnerName, site.Service, site.Port, site.Access), Is.EqualTo((LocalWorkload.KindName, "shop", "alice", "cart", 8080, Preview.Shared)));
            Assert.That(site.Host, Is.EqualTo(PreviewHostNames.Host(LocalWorkload.KindName, "shop", "alice", "cart", 8080, "", Domain)));
        });
    }
}
