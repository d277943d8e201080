using System.Globalization;

namespace Sandboxctl.PortForward;

/// <summary>The kinds of object <c>port-forward</c> can forward to.</summary>
internal enum PortForwardTargetKind
{
    Pod,
    Deployment,
    Service,
}

/// <summary>What <c>port-forward</c> forwards to: one pod by name, or a ready pod of a Deployment or Service.</summary>
internal sealed record PortForwardTarget(PortForwardTargetKind Kind, string Name)
{
    /// <summary>Parses <c>pod/x</c>, <c>deploy/x</c> (<c>deployment/x</c>), <c>svc/x</c> (<c>service/x</c>) or a bare pod name.</summary>
    public static PortForwardTarget Parse(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var (kind, name) = slash < 0 ? ("pod", text) : (text[..slash], text[(slash + 1)..]);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            throw Invalid(text);
        }

        return kind.ToUpperInvariant() switch
        {
            "POD" or "PODS" or "PO" => new PortForwardTarget(PortForwardTargetKind.Pod, name),
            "DEPLOY" or "DEPLOYMENT" or "DEPLOYMENTS" => new PortForwardTarget(PortForwardTargetKind.Deployment, name),
            "SVC" or "SERVICE" or "SERVICES" => new PortForwardTarget(PortForwardTargetKind.Service, name),
            _ => throw Invalid(text),
        };
    }

    public override string ToString() => Kind switch
    {
        PortForwardTargetKind.Deployment => $"deployment/{Name}",
        PortForwardTargetKind.Service => $"service/{Name}",
        _ => $"pod/{Name}",
    };

    private static CliException Invalid(string text) =>
        new($"'{text}' is not a pod, deployment or service.", "Write the target as pod/NAME, deploy/NAME or svc/NAME.", ExitCodes.UserError);
}

/// <summary>
/// One <c>[LOCAL:]REMOTE</c> argument: the local port (0 lets the system choose, as <c>:REMOTE</c> does) and the
/// remote port, a number or a port name (a container port name, or for a Service one of its port names).
/// </summary>
internal sealed record PortMapping(int LocalPort, string RemotePort)
{
    public static PortMapping Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (local, remote) = colon < 0 ? (text, text) : (text[..colon], text[(colon + 1)..]);
        if (remote.Length == 0 || (int.TryParse(remote, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is < 1 or > 65535))
        {
            throw Invalid(text);
        }

        if (local.Length == 0)
        {
            return new PortMapping(0, remote);
        }

        if (!int.TryParse(local, NumberStyles.None, CultureInfo.InvariantCulture, out var localPort) || localPort is < 1 or > 65535)
        {
            throw Invalid(text);
        }

        return new PortMapping(localPort, remote);
    }

    /// <summary>The remote port when it is a number, else null (a name).</summary>
    public int? RemoteNumber => int.TryParse(RemotePort, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;

    private static CliException Invalid(string text) =>
        new($"'{text}' is not a port mapping.", "Write ports as LOCAL:REMOTE (8080:80), REMOTE (8080) or :REMOTE (a free local port).", ExitCodes.UserError);
}

/// <summary>A ready pod to forward to, with the pod port of each <see cref="PortMapping"/> (in order).</summary>
internal sealed record ForwardingPod(string Name, string Uid, IReadOnlyList<int> Ports);
