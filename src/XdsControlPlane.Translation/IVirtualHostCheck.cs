using Envoy.Config.Route.V3;
using Google.Protobuf;

namespace XdsControlPlane.Translation;

/// <summary>
/// Sees each Service port's virtual host right after translation serialized it, as the message it serialized, so a
/// check of the host (Envoy's rules, before publishing) can run on that message instead of parsing the bytes back. The
/// message must not be changed or kept: the bytes are what is published. Called from the node groups' assemblers side
/// by side, so implementations are thread-safe.
/// </summary>
internal interface IVirtualHostCheck
{
    /// <summary><paramref name="host"/> was serialized as <paramref name="bytes"/> (the instance route configurations will hold).</summary>
    void Built(VirtualHost host, ByteString bytes);
}
