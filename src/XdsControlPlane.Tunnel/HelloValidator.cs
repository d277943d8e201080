using System.Text.RegularExpressions;
using Grpc.Core;
using XdsControlPlane.Model;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>The shape of an agent's Hello, checked before anyone looks it up: each problem is InvalidArgument naming the field.</summary>
internal static partial class HelloValidator
{
    /// <summary>Throws an <see cref="RpcException"/> (InvalidArgument, <c>Hello.FIELD: reason</c>) for the first field that is wrong.</summary>
    public static void Check(Hello hello)
    {
        static void Fail(string field, string reason) => throw new RpcException(new Status(StatusCode.InvalidArgument, $"Hello.{field}: {reason}"));
        if (!DnsLabel().IsMatch(hello.Namespace))
        {
            Fail("namespace", $"'{Shorten(hello.Namespace)}' is not a namespace name (a DNS label)");
        }

        if (!DnsLabel().IsMatch(hello.LocalWorkload))
        {
            Fail("local_workload", $"'{Shorten(hello.LocalWorkload)}' is not a LocalWorkload name (a DNS label)");
        }

        if (hello.Secret.Length > 512)
        {
            Fail("secret", "longer than 512 characters");
        }

        if (hello.SessionId.Length is 0 or > 64)
        {
            Fail("session_id", "must be 1-64 characters");
        }

        if (hello.InitialWindow is < 1024 or > TunnelLimits.MaxWindow)
        {
            Fail("initial_window", $"must be between 1024 and {TunnelLimits.MaxWindow} bytes, got {hello.InitialWindow}");
        }

        if (hello.Spec is { } spec && (spec.Ports.Count > 64 || spec.Ports.Any(p => p is < 1 or > 65535) || spec.Expose.Count > 64))
        {
            Fail("spec", "at most 64 ports (each 1-65535) and 64 expose targets");
        }
    }

    /// <summary>The workload a Hello names, as logs show it (each part cut at 80 characters).</summary>
    public static string WorkloadOf(Hello hello) => $"{Shorten(hello.Namespace)}/{Shorten(hello.LocalWorkload)}";

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";

    [GeneratedRegex(SchemaPatterns.DnsLabel)]
    private static partial Regex DnsLabel();
}
