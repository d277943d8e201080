using System.Globalization;
using Grpc.Core;
using XdsControlPlane.Model;
using XdsControlPlane.Tunnel.Protocol;
using XdsControlPlane.Xds.Resources;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The shape of an agent's Hello, checked before anyone looks it up, with the model's own rules for names
/// (<see cref="SchemaPatterns"/>, as the LocalWorkload validator applies them): each problem is InvalidArgument naming
/// the field. Every field has a bound, so nothing the agent sends reaches the registry, the pipeline or a data plane
/// unchecked; what is quoted back is printable and cut short.
/// </summary>
internal static class HelloValidator
{
    /// <summary>The longest secret (Kubernetes mode: the agent's random secret; manifests mode: the broker's token).</summary>
    public const int MaxSecretLength = 512;

    /// <summary>The longest session id (the agent sends 32 hex digits).</summary>
    public const int MaxSessionIdLength = 64;

    /// <summary>The longest agent version (sandboxctl's informational version).</summary>
    public const int MaxAgentVersionLength = 128;

    /// <summary>The most ports one workload serves (as <c>LocalWorkload.spec.ports</c>).</summary>
    public const int MaxPorts = 64;

    /// <summary>The smallest window an agent may announce.</summary>
    public const int MinWindow = 1024;

    /// <summary>The most characters of a client's value quoted in a refusal.</summary>
    private const int QuotedLength = 64;

    /// <summary>Throws an <see cref="AgentRefusedException"/> (InvalidArgument, <c>Hello.FIELD: reason</c>) for the first field that is wrong.</summary>
    public static void Check(Hello hello)
    {
        ArgumentNullException.ThrowIfNull(hello);
        if (Problem(hello) is { } problem)
        {
            throw new AgentRefusedException(AgentRefusal.BadHello, StatusCode.InvalidArgument, $"Hello.{problem.Field}: {problem.Reason}");
        }
    }

    /// <summary>Throws an <see cref="AgentRefusedException"/> (InvalidArgument) when a lane's Hello cannot be one: no lanes in <paramref name="version"/>, a token of the wrong length.</summary>
    public static void CheckLane(Hello hello, uint version)
    {
        ArgumentNullException.ThrowIfNull(hello);
        if (version < TunnelProtocol.LanesVersion)
        {
            throw new AgentRefusedException(AgentRefusal.BadHello, StatusCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture, $"Hello.lane_token: lanes need tunnel protocol version {TunnelProtocol.LanesVersion}, agreed on {version}"));
        }

        if (hello.LaneToken.Length != TunnelSession.LaneTokenLength)
        {
            throw new AgentRefusedException(AgentRefusal.BadHello, StatusCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture, $"Hello.lane_token: must be {TunnelSession.LaneTokenLength} bytes, got {hello.LaneToken.Length}"));
        }
    }

    /// <summary>The workload a Hello names, as logs show it (each part printable and cut short).</summary>
    public static string WorkloadOf(Hello hello) => $"{Quoted(hello.Namespace)}/{Quoted(hello.LocalWorkload)}";

    /// <summary><paramref name="text"/> from a client as a log line or a refusal may quote it: printable, at most 64 characters.</summary>
    public static string Quoted(string? text) => ClientText.Printable(text, QuotedLength);

    private static (string Field, string Reason)? Problem(Hello hello)
    {
        if (!SchemaPatterns.IsDnsLabel(hello.Namespace))
        {
            return ("namespace", $"'{Quoted(hello.Namespace)}' is not a namespace name (a DNS label)");
        }

        if (!SchemaPatterns.IsDnsLabel(hello.LocalWorkload))
        {
            return ("local_workload", $"'{Quoted(hello.LocalWorkload)}' is not a LocalWorkload name (a DNS label)");
        }

        if (hello.AgentVersion.Length > MaxAgentVersionLength)
        {
            return ("agent_version", $"longer than {MaxAgentVersionLength} characters");
        }

        if (hello.Secret.Length > MaxSecretLength)
        {
            // Never quoted: it is a secret.
            return ("secret", $"longer than {MaxSecretLength} characters");
        }

        if (hello.SessionId.Length is 0 or > MaxSessionIdLength || !hello.SessionId.All(IsSessionCharacter))
        {
            return ("session_id", $"must be 1-{MaxSessionIdLength} characters of A-Z, a-z, 0-9, '.', '_' and '-'");
        }

        if (hello.InitialWindow is < MinWindow or > TunnelLimits.MaxWindow)
        {
            return ("initial_window", string.Create(CultureInfo.InvariantCulture, $"must be between {MinWindow} and {TunnelLimits.MaxWindow} bytes, got {hello.InitialWindow}"));
        }

        return hello.Spec is { } spec ? SpecProblem(spec) : null;
    }

    /// <summary>The spec's fields; which of sandbox and routing key is given, and whether the Service and ports exist, the registry checks.</summary>
    private static (string Field, string Reason)? SpecProblem(Protocol.LocalWorkloadSpec spec)
    {
        if (spec.Sandbox.Length > 0 && !SchemaPatterns.IsDnsLabel(spec.Sandbox))
        {
            return ("spec.sandbox", $"'{Quoted(spec.Sandbox)}' is not a Sandbox name (a DNS label)");
        }

        if (spec.RoutingKey.Length > 0 && !SchemaPatterns.IsRoutingKey(spec.RoutingKey))
        {
            return ("spec.routing_key", $"'{Quoted(spec.RoutingKey)}' is not a routing key (1-63 characters of a-z, 0-9 and '-')");
        }

        if (spec.Service.Length > 0 && !SchemaPatterns.IsDnsLabel(spec.Service))
        {
            return ("spec.service", $"'{Quoted(spec.Service)}' is not a Service name of the workload's namespace (a DNS label)");
        }

        if (spec.Ports.Count > MaxPorts)
        {
            return ("spec.ports", string.Create(CultureInfo.InvariantCulture, $"at most {MaxPorts} ports, got {spec.Ports.Count}"));
        }

        for (var i = 0; i < spec.Ports.Count; i++)
        {
            if (spec.Ports[i] is < 1 or > 65535)
            {
                return (string.Create(CultureInfo.InvariantCulture, $"spec.ports[{i}]"), string.Create(CultureInfo.InvariantCulture, $"must be a port (1-65535), got {spec.Ports[i]}"));
            }
        }

        if (spec.Expose.Count > ModelLimits.MaxExposedServices)
        {
            return ("spec.expose", string.Create(CultureInfo.InvariantCulture, $"at most {ModelLimits.MaxExposedServices} Services, got {spec.Expose.Count}"));
        }

        for (var i = 0; i < spec.Expose.Count; i++)
        {
            if (!SchemaPatterns.IsServiceReference(spec.Expose[i]))
            {
                return (string.Create(CultureInfo.InvariantCulture, $"spec.expose[{i}]"), $"'{Quoted(spec.Expose[i])}' is not a Service name, or name.namespace");
            }
        }

        return PreviewsProblem(spec);
    }

    /// <summary>The previews: at most <see cref="ModelLimits.MaxPreviews"/>, each of one of the spec's ports, once, with a known access level.</summary>
    private static (string Field, string Reason)? PreviewsProblem(Protocol.LocalWorkloadSpec spec)
    {
        if (spec.Previews.Count > ModelLimits.MaxPreviews)
        {
            return ("spec.previews", string.Create(CultureInfo.InvariantCulture, $"at most {ModelLimits.MaxPreviews} previews, got {spec.Previews.Count}"));
        }

        var seen = new HashSet<uint>();
        for (var i = 0; i < spec.Previews.Count; i++)
        {
            var preview = spec.Previews[i];
            if (!spec.Ports.Contains(preview.Port))
            {
                return (string.Create(CultureInfo.InvariantCulture, $"spec.previews[{i}].port"), string.Create(CultureInfo.InvariantCulture, $"must be one of spec.ports ({string.Join(", ", spec.Ports)}), got {preview.Port}"));
            }

            if (!seen.Add(preview.Port))
            {
                return (string.Create(CultureInfo.InvariantCulture, $"spec.previews[{i}].port"), string.Create(CultureInfo.InvariantCulture, $"port {preview.Port} is previewed twice; list each port once"));
            }

            if (preview.Access is not (Preview.Public or Preview.Shared or Preview.Personal))
            {
                return (string.Create(CultureInfo.InvariantCulture, $"spec.previews[{i}].access"), $"must be public, shared or personal, got '{Quoted(preview.Access)}'");
            }
        }

        return null;
    }

    private static bool IsSessionCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';
}
