using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace XdsControlPlane.Testing;

/// <summary>
/// RBAC as the API server enforces it: a request its user may not make is answered 403 with the Status a real API
/// server sends (<c>reason: Forbidden</c>, <c>localworkloads.sandboxctl.io "x" is forbidden: User "dev" cannot patch
/// resource "localworkloads" in API group "sandboxctl.io" in the namespace "shop"</c>). The user is who the
/// credentials say: the kubeconfig's bearer token (<see cref="KubeconfigYaml"/>'s is <see cref="Developer"/>'s), and a
/// request without any is the control plane's ServiceAccount (the in-process server host sends none). Everything is
/// allowed until a test denies it (<see cref="Deny"/>) or grants a user only a role's rules (<see cref="GrantOnly"/>).
/// </summary>
internal sealed partial class FakeApiServer
{
    /// <summary>The user of <see cref="KubeconfigYaml"/>'s credentials (the developer running <c>sandboxctl</c>).</summary>
    public const string Developer = "dev";

    /// <summary>The user of requests without credentials: the control plane's ServiceAccount.</summary>
    public const string ControlPlaneAccount = "system:serviceaccount:sandboxctl-system:xds-control-plane";

    private readonly List<(string User, string Permission, string? Namespace)> _denied = [];
    private readonly Dictionary<string, HashSet<string>> _grantedOnly = new(StringComparer.Ordinal);

    /// <summary>Every request refused with 403 so far: the user and the permission (<c>group/resource[/subresource]:verb</c>) in its namespace.</summary>
    public List<(string User, string Permission, string? Namespace)> Refused { get; } = [];

    /// <summary>
    /// From now on <paramref name="user"/> may not make requests needing <paramref name="permission"/> (spelled as
    /// <see cref="Permissions"/> spells it, e.g. <c>sandboxctl.io/localworkloads:create</c>) in <paramref name="ns"/>
    /// (null: in any namespace and cluster-wide).
    /// </summary>
    public void Deny(string user, string permission, string? ns = null)
    {
        lock (_gate)
        {
            _denied.Add((user, permission, ns));
        }
    }

    /// <summary>From now on <paramref name="user"/> may make only requests needing one of <paramref name="permissions"/> (<c>group/resource[/subresource]:verb</c>), as when bound to one role.</summary>
    public void GrantOnly(string user, IEnumerable<string> permissions)
    {
        lock (_gate)
        {
            _grantedOnly[user] = [.. permissions];
        }
    }

    /// <summary>The 403 answer for a request its user may not make, or null when it may.</summary>
    private (int Code, JsonObject Body)? Forbidden(HttpRequest request)
    {
        var permission = Permission(request);

        // A port-forward over WebSocket is a GET, which the API server authorizes as create on pods/portforward too.
        if (permission == "/pods/portforward:get")
        {
            permission = "/pods/portforward:create";
        }

        var user = request.Headers.Authorization.ToString() switch
        {
            "" => ControlPlaneAccount,
            "Bearer not-checked" => Developer,
            var other => other.StartsWith("Bearer ", StringComparison.Ordinal) ? other["Bearer ".Length..] : other,
        };
        var parts = request.Path.Value!.Trim('/').Split('/');
        var rest = parts[0] == "api" ? parts[2..] : parts[3..];
        var ns = rest is ["namespaces", var n, ..] ? n : null;
        lock (_gate)
        {
            var denied = _denied.Any(d => d.User == user && d.Permission == permission && (d.Namespace is null || d.Namespace == ns))
                || (_grantedOnly.TryGetValue(user, out var granted) && !granted.Contains(permission));
            if (!denied)
            {
                return null;
            }

            Refused.Add((user, permission, ns));
        }

        var name = rest switch
        {
            ["namespaces", _, _, var named, ..] => named,
            ["namespaces", ..] => null,
            [_, var named, ..] => named,
            _ => null,
        };
        return (403, ForbiddenStatus(user, permission, ns, name));
    }

    /// <summary>The Status a real API server answers a forbidden request with.</summary>
    private static JsonObject ForbiddenStatus(string user, string permission, string? ns, string? name)
    {
        var (group, resource, verb) = permission.Split(':') is [var path, var v] && path.IndexOf('/', StringComparison.Ordinal) is var slash
            ? (path[..slash], path[(slash + 1)..], v)
            : ("", permission, "");
        var plural = resource.Split('/')[0];
        var qualified = group.Length == 0 ? plural : $"{plural}.{group}";
        var where = ns is null ? "at the cluster scope" : $"in the namespace \"{ns}\"";
        var status = Status(403, "Forbidden", $"{qualified}{(name is null ? "" : $" \"{name}\"")} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {where}");
        status["details"] = new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = plural };
        return status;
    }
}
