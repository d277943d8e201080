using System.Globalization;
using Envoy.Config.Core.V3;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// What an xDS client says it is, read from its node: <c>user_agent_name</c> and either <c>user_agent_version</c>
/// (gRPC clients) or <c>user_agent_build_version</c> (Envoy). Both are client-supplied text: control characters are
/// replaced and each part is capped, so the result is safe to print on a terminal or in a plain-text log.
/// </summary>
/// <param name="Name">The client's name, e.g. <c>envoy</c>, <c>gRPC C-core</c>, <c>grpc-node-js</c>; <c>unknown</c> when absent.</param>
/// <param name="Version">The client's version as it sent it, e.g. <c>1.31.2</c>; empty when absent.</param>
public sealed record ClientAgent(string Name, string Version)
{
    /// <summary>The most characters kept of each part.</summary>
    public const int MaxPartLength = 64;

    /// <summary>Reads the agent of <paramref name="node"/>.</summary>
    public static ClientAgent Of(Node? node)
    {
        if (node is null)
        {
            return new ClientAgent("unknown", "");
        }

        var name = ClientText.Printable(node.UserAgentName, MaxPartLength);
        var version = node.UserAgentVersionTypeCase switch
        {
            Node.UserAgentVersionTypeOneofCase.UserAgentVersion => ClientText.Printable(node.UserAgentVersion, MaxPartLength),
            Node.UserAgentVersionTypeOneofCase.UserAgentBuildVersion when node.UserAgentBuildVersion.Version is { } semantic =>
                string.Create(CultureInfo.InvariantCulture, $"{semantic.MajorNumber}.{semantic.MinorNumber}.{semantic.Patch}"),
            _ => "",
        };
        return new ClientAgent(name.Length == 0 ? "unknown" : name, version);
    }

    /// <summary><c>name version</c>, or the name alone when the client sent no version.</summary>
    public override string ToString() => Version.Length == 0 ? Name : $"{Name} {Version}";
}
