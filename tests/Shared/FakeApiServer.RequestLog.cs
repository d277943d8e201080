using Microsoft.AspNetCore.Http;

namespace XdsControlPlane.Testing;

/// <summary>One request as RBAC authorizes it: verb, API group (<c>""</c> for core), resource (<c>pods</c>, <c>routegroups/status</c>) and namespace (null: cluster-wide).</summary>
internal sealed record RecordedRequest(string Verb, string Group, string Resource, string? Namespace)
{
    /// <inheritdoc />
    public override string ToString() => $"{Verb} {(Group.Length == 0 ? "core" : Group)}/{Resource} {(Namespace is null ? "cluster-wide" : $"in {Namespace}")}";
}

/// <summary>Every request served, recorded as RBAC would authorize it, so a test can hold a role's rules against what a component really asked.</summary>
internal sealed partial class FakeApiServer
{
    private readonly HashSet<RecordedRequest> _recorded = [];

    /// <summary>Every distinct request so far (verb, group, resource, namespace), ordered by their text.</summary>
    public RecordedRequest[] RecordedRequests()
    {
        lock (_gate)
        {
            return [.. _recorded.OrderBy(r => r.ToString(), StringComparer.Ordinal)];
        }
    }

    /// <summary>Records <paramref name="request"/> (called for every request, before RBAC refuses it or not).</summary>
    private void Record(HttpRequest request)
    {
        var permission = Permission(request);
        var colon = permission.LastIndexOf(':');
        var slash = permission.IndexOf('/', StringComparison.Ordinal);
        var parts = request.Path.Value!.Trim('/').Split('/');
        var rest = parts[0] == "api" ? parts[2..] : parts[3..];
        var recorded = new RecordedRequest(
            permission[(colon + 1)..],
            permission[..slash],
            permission[(slash + 1)..colon],
            rest is ["namespaces", var ns, _, ..] ? ns : null);
        lock (_gate)
        {
            _recorded.Add(recorded);
        }
    }
}
