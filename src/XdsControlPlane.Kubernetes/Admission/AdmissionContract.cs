using System.Text.Json;
using System.Text.Json.Nodes;

namespace XdsControlPlane.Kubernetes.Admission;

/// <summary>
/// Decides one kind of admission request for the mutating webhook (<c>/inject</c>): the webhook parses and checks the
/// AdmissionReview v1 envelope (size, apiVersion, kind, uid) and hands each request whose resource matches
/// <see cref="Resource"/> to its reviewer. A reviewer is pure: no I/O, no clock, no cluster calls.
/// </summary>
public interface IAdmissionReviewer
{
    /// <summary>The resource this reviewer decides, as the API server names it (<c>pods</c>, <c>sandboxes</c>).</summary>
    string Resource { get; }

    /// <summary>The API group of <see cref="Resource"/> (<c>""</c> for core, <c>sandboxctl.io</c>).</summary>
    string Group { get; }

    /// <summary>
    /// The verdict on <paramref name="request"/>. Never throws for a malformed object: a verdict with
    /// <see cref="AdmissionVerdict.Allowed"/> false and a message naming the field is the answer to bad input.
    /// </summary>
    AdmissionVerdict Review(AdmissionSubject request);
}

/// <summary>The parts of an admission.k8s.io/v1 AdmissionRequest a reviewer decides on.</summary>
/// <param name="Uid">The request's uid, echoed in the response.</param>
/// <param name="Operation"><c>CREATE</c>, <c>UPDATE</c>, <c>DELETE</c> or <c>CONNECT</c>.</param>
/// <param name="Group">The resource's API group (<c>""</c> for core).</param>
/// <param name="Version">The resource's API version (<c>v1</c>, <c>v1alpha1</c>).</param>
/// <param name="Resource">The resource (<c>pods</c>).</param>
/// <param name="SubResource">The subresource, or <see langword="null"/>.</param>
/// <param name="Namespace">The namespace (empty for cluster-scoped objects).</param>
/// <param name="Name">The object's name; empty on CREATE with <c>generateName</c>.</param>
/// <param name="Incoming">The object (<c>object</c>) as the API server sends it (after defaulting and earlier mutations).</param>
/// <param name="Stored">The stored object (<c>oldObject</c>) on UPDATE, otherwise <see langword="null"/>.</param>
/// <param name="User">Who asked, in the API server's own words (<c>userInfo</c>).</param>
/// <param name="DryRun">Whether the request is a dry run (a reviewer must have no side effects either way).</param>
public sealed record AdmissionSubject(
    string Uid,
    string Operation,
    string Group,
    string Version,
    string Resource,
    string? SubResource,
    string Namespace,
    string Name,
    JsonElement Incoming,
    JsonElement? Stored,
    AdmissionUser User,
    bool DryRun);

/// <summary>The requesting user as the API server authenticated it (AdmissionRequest <c>userInfo</c>).</summary>
/// <param name="Username">The user name (<c>system:serviceaccount:ns:name</c> for service accounts).</param>
/// <param name="Uid">The user's uid, when the authenticator gives one.</param>
/// <param name="Groups">The user's groups.</param>
public sealed record AdmissionUser(string Username, string? Uid, IReadOnlyList<string> Groups);

/// <summary>A reviewer's answer: allowed with an optional JSON patch (RFC 6902), or refused with a reason.</summary>
/// <param name="Allowed">Whether the request is admitted.</param>
/// <param name="Patch">JSON patch operations to apply to the object, or <see langword="null"/> for none.</param>
/// <param name="Message">Why (shown to the user on refusal; logged otherwise).</param>
/// <param name="Code">The HTTP status code for a refusal (400, 403, 422), or <see langword="null"/>.</param>
/// <param name="Warnings">Warnings the API server shows the client (kubectl prints them).</param>
public sealed record AdmissionVerdict(bool Allowed, JsonArray? Patch, string? Message, int? Code, IReadOnlyList<string> Warnings)
{
    /// <summary>Admitted unchanged, with the reason (e.g. "opted out").</summary>
    public static AdmissionVerdict Unchanged(string reason) => new(true, null, reason, null, []);

    /// <summary>Admitted with <paramref name="patch"/>.</summary>
    public static AdmissionVerdict Patched(JsonArray patch, string reason) => new(true, patch, reason, null, []);

    /// <summary>Refused with <paramref name="code"/> and a message naming the field and the reason.</summary>
    public static AdmissionVerdict Refused(int code, string message) => new(false, null, message, code, []);
}
