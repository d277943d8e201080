using static XdsControlPlane.Translation.EnvoyBuilding;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;

namespace XdsControlPlane.Translation.HttpFilters;

/// <summary>Envoy's router: sends each request where its route says. Every role runs it, last in the chain.</summary>
internal sealed class RouterFilter : HttpFilterTranslator
{
    public override string Name => "envoy.filters.http.router";

    public override bool RunsIn(string role) => true;

    public override HttpFilter Entry(string role) => new() { Name = Name, TypedConfig = Typed(new Router()) };
}
