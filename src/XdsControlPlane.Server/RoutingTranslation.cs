using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server;

/// <summary>What the snapshot publisher translates with: the objects in force to the resources of each node group.</summary>
internal interface IRoutingTranslation
{
    /// <summary>Translates <paramref name="inputs"/>.</summary>
    TranslationResult Translate(RoutingInputs inputs);
}

/// <summary>The product's translation (<see cref="RoutingTranslator"/>).</summary>
internal sealed class RoutingTranslation(RoutingTranslator translator) : IRoutingTranslation
{
    /// <inheritdoc />
    public TranslationResult Translate(RoutingInputs inputs) => translator.Translate(inputs);
}
