using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace XdsControlPlane.Testing;

/// <summary>ConfigMaps and Secrets (for a pod's environment), and single objects the server answers 403 Forbidden for, as RBAC would.</summary>
internal sealed partial class FakeApiServer
{
    public const string ConfigMaps = "/api/v1/configmaps";
    public const string Secrets = "/api/v1/secrets";

    private readonly HashSet<string> _forbiddenObjects = new(StringComparer.Ordinal);

    static FakeApiServer()
    {
        Kinds[ConfigMaps] = ("v1", "ConfigMapList");
        Kinds[Secrets] = ("v1", "SecretList");
    }

    /// <summary>Every request for object <paramref name="ns"/>/<paramref name="name"/> of <paramref name="path"/> (a kind's collection, such as <see cref="Secrets"/>) is answered 403.</summary>
    public void Forbid(string path, string ns, string name)
    {
        lock (_gate)
        {
            _forbiddenObjects.Add(ObjectPath(path, ns, name));
        }
    }

    /// <summary>A ConfigMap with <paramref name="data"/>.</summary>
    public static JsonObject ConfigMapObject(string ns, string name, IReadOnlyDictionary<string, string> data) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["data"] = new JsonObject([.. data.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)d.Value))]),
    };

    /// <summary>A Secret with <paramref name="data"/> (stored base64-encoded, as the API server serves it).</summary>
    public static JsonObject SecretObject(string ns, string name, IReadOnlyDictionary<string, string> data) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["data"] = new JsonObject([.. data.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)Convert.ToBase64String(Encoding.UTF8.GetBytes(d.Value))))]),
    };

    private bool ForbiddenObject(HttpRequest request)
    {
        lock (_gate)
        {
            return _forbiddenObjects.Count > 0 && _forbiddenObjects.Contains(request.Path.Value ?? "");
        }
    }

    /// <summary>The request path of one object: <c>/api/v1/namespaces/NS/secrets/NAME</c>.</summary>
    private static string ObjectPath(string path, string ns, string name)
    {
        var slash = path.LastIndexOf('/');
        return $"{path[..slash]}/namespaces/{ns}{path[slash..]}/{name}";
    }
}
