using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// Translates the routing inputs in force into the resources of every node group. <see cref="RoutingTranslator"/> is
/// the product's; the snapshot publisher takes this interface so tests can wrap the real translator.
/// </summary>
public interface IRoutingTranslator
{
    /// <summary>Translates <paramref name="inputs"/> into the resources of every node group.</summary>
    TranslationResult Translate(RoutingInputs inputs);
}
