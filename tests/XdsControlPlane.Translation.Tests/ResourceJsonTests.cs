using Envoy.Config.Listener.V3;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Envoy.Validation;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;
using LocalRateLimit = Envoy.Extensions.Filters.Http.LocalRatelimit.V3.LocalRateLimit;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// <see cref="ResourceJson"/> (what render and <c>/debug/snapshot</c> print resources with) prints exactly what the
/// catalog's formatter over every Envoy type prints: its smaller registry covers every type translation packs, and an
/// <c>Any</c> of any other type still prints.
/// </summary>
public sealed class ResourceJsonTests
{
    [TestCaseSource(typeof(GoldenTests), nameof(GoldenTests.Cases))]
    public void Packed_EveryTranslatedResource_PrintsAsTheCatalogDoes(string caseName)
    {
        foreach (var resource in GoldenTests.TranslateCase(caseName).Groups.Values.SelectMany(r => r))
        {
            // The packed formatter alone: no fallback hides a type translation packs but the registry lacks.
            Assert.That(ResourceJson.Packed.Format(resource.Message), Is.EqualTo(EnvoyTypeCatalog.JsonFormatter.Format(resource.Message)), resource.ToString());
        }
    }

    [Test]
    public void Format_AnyOfATypeTranslationDoesNotPack_PrintsAsTheCatalogDoes()
    {
        var hcm = new Hcm
        {
            StatPrefix = "odd",
            HttpFilters = { new HttpFilter { Name = "envoy.filters.http.local_ratelimit", TypedConfig = Any.Pack(new LocalRateLimit { StatPrefix = "limited" }) } },
        };
        var listener = new Listener { Name = "odd", FilterChains = { new FilterChain { Filters = { new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(hcm) } } } } };

        var json = ResourceJson.Format(listener);

        Assert.Multiple(() =>
        {
            Assert.That(json, Is.EqualTo(EnvoyTypeCatalog.JsonFormatter.Format(listener)));
            Assert.That(json, Does.Contain("type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit").And.Contain("\"statPrefix\": \"limited\""));
        });
    }
}
