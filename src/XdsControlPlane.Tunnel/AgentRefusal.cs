using Grpc.Core;

namespace XdsControlPlane.Tunnel;

/// <summary>Why the broker refused an agent's stream: the bounded label set of the refusals metric (never client text).</summary>
public enum AgentRefusal
{
    /// <summary>The Hello broke a rule (a field's shape or bound), or the first frame was not a Hello.</summary>
    BadHello,

    /// <summary>No Hello within <see cref="TunnelBrokerOptions.HelloTimeout"/>.</summary>
    HelloTimeout,

    /// <summary>No tunnel protocol version both speak.</summary>
    ProtocolVersion,

    /// <summary>The HTTP/2 connection carries <see cref="TunnelBrokerOptions.MaxAgentsPerConnection"/> agent streams already.</summary>
    ConnectionLimit,

    /// <summary>The remote address has <see cref="TunnelBrokerOptions.MaxAgentsPerAddress"/> agent streams already.</summary>
    AddressLimit,

    /// <summary>The replica serves <see cref="TunnelBrokerOptions.MaxAgents"/> agents, or has no free broker port.</summary>
    BrokerFull,

    /// <summary>Wrong token or secret, or an agent not on loopback without a token.</summary>
    Denied,

    /// <summary>The agent's client certificate names another namespace than the workload its Hello claims, or no usable identity.</summary>
    Identity,

    /// <summary>The LocalWorkload, its Service or its Sandbox does not exist.</summary>
    NotFound,

    /// <summary>Another agent is connected for the workload.</summary>
    AlreadyConnected,

    /// <summary>The workload cannot be served as asked (a port its Service lacks, a Sandbox without a routing key yet).</summary>
    FailedPrecondition,

    /// <summary>The broker cannot admit anyone yet (its inputs are not loaded).</summary>
    Unavailable,

    /// <summary>Any other status.</summary>
    Other,
}

/// <summary>The label values of <see cref="AgentRefusal"/> and how a registry's status maps to one.</summary>
public static class AgentRefusals
{
    private static readonly string[] Labels = [.. Enum.GetValues<AgentRefusal>().Select(Label)];

    /// <summary>Every reason, as the metric's label values.</summary>
    public static IReadOnlyList<string> All => Labels;

    /// <summary>The label value of <paramref name="reason"/> (<c>bad_hello</c>, <c>connection_limit</c>, …).</summary>
    public static string LabelOf(AgentRefusal reason) => Labels[(int)reason];

    /// <summary>The reason a refusal with <paramref name="code"/> from the registry or the workload's tunnels stands for.</summary>
    public static AgentRefusal Of(StatusCode code) => code switch
    {
        StatusCode.InvalidArgument => AgentRefusal.BadHello,
        StatusCode.PermissionDenied or StatusCode.Unauthenticated => AgentRefusal.Denied,
        StatusCode.NotFound => AgentRefusal.NotFound,
        StatusCode.AlreadyExists => AgentRefusal.AlreadyConnected,
        StatusCode.FailedPrecondition => AgentRefusal.FailedPrecondition,
        StatusCode.ResourceExhausted => AgentRefusal.BrokerFull,
        StatusCode.Unavailable => AgentRefusal.Unavailable,
        StatusCode.DeadlineExceeded => AgentRefusal.HelloTimeout,
        _ => AgentRefusal.Other,
    };

    private static string Label(AgentRefusal reason)
    {
        var name = reason.ToString();
        var label = new System.Text.StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && label.Length > 0)
            {
                label.Append('_');
            }

            label.Append(char.ToLowerInvariant(c));
        }

        return label.ToString();
    }
}

/// <summary>A refusal of an agent's stream that says its <see cref="AgentRefusal"/> (the status the call ends with).</summary>
public sealed class AgentRefusedException : RpcException
{
    /// <summary>Refuses for <paramref name="reason"/> with <paramref name="code"/> and <paramref name="message"/>.</summary>
    public AgentRefusedException(AgentRefusal reason, StatusCode code, string message)
        : base(new Status(code, message)) => Reason = reason;

    /// <summary>Why.</summary>
    public AgentRefusal Reason { get; }

    /// <summary>The reason of <paramref name="refusal"/>: its own, else the one its status stands for.</summary>
    public static AgentRefusal ReasonOf(RpcException refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return refusal is AgentRefusedException known ? known.Reason : AgentRefusals.Of(refusal.StatusCode);
    }
}
