using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace XdsControlPlane.Testing;

/// <summary>
/// An in-process Kubernetes API server on loopback for list and watch: one resource-version counter for all kinds
/// (as etcd has), an event history that watches replay from their resource version, bookmarks on demand, 410 Gone
/// for versions older than the last compaction, and a switch that cuts every open watch mid-stream.
/// </summary>
internal sealed class FakeApiServer : IAsyncDisposable
{
    public const string Services = "/api/v1/services";
    public const string EndpointSlices = "/apis/discovery.k8s.io/v1/endpointslices";
    public const string RouteGroups = "/apis/sandboxctl.io/v1alpha1/routegroups";
    public const string Sandboxes = "/apis/sandboxctl.io/v1alpha1/sandboxes";
    public const string LocalWorkloads = "/apis/sandboxctl.io/v1alpha1/localworkloads";
    public const string Leases = "/apis/coordination.k8s.io/v1/leases";

    private static readonly Dictionary<string, (string ApiVersion, string ListKind)> Kinds = new(StringComparer.Ordinal)
    {
        [Services] = ("v1", "ServiceList"),
        [EndpointSlices] = ("discovery.k8s.io/v1", "EndpointSliceList"),
        [RouteGroups] = ("sandboxctl.io/v1alpha1", "RouteGroupList"),
        [Sandboxes] = ("sandboxctl.io/v1alpha1", "SandboxList"),
        [LocalWorkloads] = ("sandboxctl.io/v1alpha1", "LocalWorkloadList"),
        [Leases] = ("coordination.k8s.io/v1", "LeaseList"),
    };

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<(string, string), JsonObject>> _objects = Kinds.Keys.ToDictionary(k => k, _ => new Dictionary<(string, string), JsonObject>(), StringComparer.Ordinal);
    private readonly List<(long Version, string Path, string Type, JsonObject Object)> _history = [];
    private readonly List<(string Path, Channel<string> Lines)> _watches = [];
    private readonly WebApplication _app;
    private long _version = 100;
    private long _compactedBefore;

    private FakeApiServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    private List<string> Requests { get; } = [];

    /// <summary>Every distinct request so far as the RBAC permission it needs: <c>group/resource[/subresource]:verb</c>.</summary>
    public string[] Permissions()
    {
        lock (_gate)
        {
            return [.. Requests.Distinct().Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The RBAC permission a request needs, e.g. <c>sandboxctl.io/routegroups/status:patch</c>.</summary>
    private static string Permission(HttpRequest request)
    {
        var parts = request.Path.Value!.Trim('/').Split('/');
        var (group, rest) = parts[0] == "api" ? ("", parts[2..]) : (parts[1], parts[3..]);
        if (rest is ["namespaces", _, .. var inNamespace])
        {
            rest = inNamespace;
        }

        var resource = rest.Length switch
        {
            >= 3 => $"{rest[0]}/{rest[2]}",
            _ => rest[0],
        };
        var verb = request.Method switch
        {
            "GET" when request.Query["watch"] == "true" => "watch",
            "GET" => rest.Length >= 2 ? "get" : "list",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => request.Method,
        };
        return $"{group}/{resource}:{verb}";
    }

    /// <summary>The latest resource version handed out.</summary>
    public string CurrentVersion
    {
        get
        {
            lock (_gate)
            {
                return _version.ToString(CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>A core/v1 Service with one HTTP port, as a cluster would store it.</summary>
    public static JsonObject ServiceObject(string ns, string name, int port = 8080) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port, ["protocol"] = "TCP" }) },
    };

    /// <summary>Every status patch: namespace/name, the patch body and the field manager that sent it.</summary>
    public List<(string Name, JsonObject Body, string? FieldManager)> StatusPatches { get; } = [];

    /// <summary>The stored object, or null.</summary>
    public JsonObject? Get(string path, string ns, string name)
    {
        lock (_gate)
        {
            return _objects[path].TryGetValue((ns, name), out var obj) ? obj.DeepClone().AsObject() : null;
        }
    }

    /// <summary>Every list request, by path.</summary>
    public List<string> ListRequests { get; } = [];

    /// <summary>Every watch request: path and the resource version it asked to start from.</summary>
    public List<(string Path, string ResourceVersion)> WatchRequests { get; } = [];

    public static async Task<FakeApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var server = new FakeApiServer(app);
        app.Use(async (context, next) =>
        {
            lock (server._gate)
            {
                server.Requests.Add(Permission(context.Request));
            }

            await next(context);
        });
        foreach (var path in Kinds.Keys)
        {
            app.MapGet(path, (HttpContext context) => server.HandleAsync(path, context));
        }

        const string Namespaced = "/apis/sandboxctl.io/v1alpha1/namespaces/{ns}/{plural}";
        app.MapMethods(Namespaced + "/{name}/status", ["PATCH"], (string ns, string plural, string name, HttpContext context) =>
            server.PatchStatusAsync($"/apis/sandboxctl.io/v1alpha1/{plural}", ns, name, context));
        app.MapGet(Namespaced, (string ns, string plural) => server.ListNamespaced($"/apis/sandboxctl.io/v1alpha1/{plural}", ns));
        app.MapGet(Namespaced + "/{name}", (string ns, string plural, string name) => server.GetOne($"/apis/sandboxctl.io/v1alpha1/{plural}", ns, name));
        app.MapPost(Namespaced, async (string ns, string plural, HttpContext context) => await server.WriteAsync($"/apis/sandboxctl.io/v1alpha1/{plural}", ns, null, context));
        app.MapPut(Namespaced + "/{name}", async (string ns, string plural, string name, HttpContext context) => await server.WriteAsync($"/apis/sandboxctl.io/v1alpha1/{plural}", ns, name, context));
        app.MapDelete(Namespaced + "/{name}", (string ns, string plural, string name) => server.DeleteOne($"/apis/sandboxctl.io/v1alpha1/{plural}", ns, name));
        const string NamespacedLeases = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases";
        app.MapGet(NamespacedLeases + "/{name}", (string ns, string name) => server.GetOne(Leases, ns, name));
        app.MapPost(NamespacedLeases, async (string ns, HttpContext context) => await server.WriteAsync(Leases, ns, null, context));
        app.MapPut(NamespacedLeases + "/{name}", async (string ns, string name, HttpContext context) => await server.WriteAsync(Leases, ns, name, context));
        await app.StartAsync();
        server.Url = new Uri(app.Urls.First());
        return server;
    }

    /// <summary>Creates or updates an object, as a user's apply does: the generation moves when the spec changes, status is kept.</summary>
    public void Put(string path, JsonObject obj)
    {
        lock (_gate)
        {
            var metadata = obj["metadata"]!.AsObject();
            var key = ((string?)metadata["namespace"] ?? "default", (string)metadata["name"]!);
            var exists = _objects[path].TryGetValue(key, out var old);
            var type = exists ? "MODIFIED" : "ADDED";
            var oldGeneration = (long?)old?["metadata"]?["generation"] ?? 0;
            metadata["generation"] = exists && JsonNode.DeepEquals(old!["spec"], obj["spec"]) ? oldGeneration : oldGeneration + 1;
            if (old?["status"] is { } status)
            {
                obj["status"] = status.DeepClone();
            }

            metadata["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
            _objects[path][key] = obj;
            Record(path, type, obj);
        }
    }

    public void Delete(string path, string ns, string name)
    {
        lock (_gate)
        {
            if (_objects[path].Remove((ns, name), out var obj))
            {
                obj["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
                Record(path, "DELETED", obj);
            }
        }
    }

    /// <summary>Forgets the history: watches from any version before now get 410 Gone.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _compactedBefore = _version + 1;
            _history.Clear();
        }
    }

    /// <summary>Sends a BOOKMARK with the current resource version on every open watch.</summary>
    public void Bookmark()
    {
        lock (_gate)
        {
            foreach (var (path, lines) in _watches)
            {
                lines.Writer.TryWrite(Event("BOOKMARK", new JsonObject
                {
                    ["kind"] = Kinds[path].ListKind[..^4],
                    ["apiVersion"] = Kinds[path].ApiVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture) },
                }));
            }
        }
    }

    /// <summary>Ends every open watch response, as a load balancer or API server restart does.</summary>
    public void CutWatches()
    {
        lock (_gate)
        {
            foreach (var (_, lines) in _watches)
            {
                lines.Writer.TryComplete();
            }

            _watches.Clear();
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        CutWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private IResult ListNamespaced(string path, string ns)
    {
        lock (_gate)
        {
            return Results.Text(new JsonObject
            {
                ["kind"] = Kinds[path].ListKind,
                ["apiVersion"] = Kinds[path].ApiVersion,
                ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture) },
                ["items"] = new JsonArray([.. _objects[path].Where(o => o.Key.Item1 == ns).Select(o => (JsonNode)o.Value.DeepClone())]),
            }.ToJsonString(), "application/json");
        }
    }

    private IResult GetOne(string path, string ns, string name) =>
        Get(path, ns, name) is { } obj ? Results.Text(obj.ToJsonString(), "application/json") : NotFound(path, name);

    private IResult DeleteOne(string path, string ns, string name)
    {
        if (Get(path, ns, name) is null)
        {
            return NotFound(path, name);
        }

        Delete(path, ns, name);
        return Results.Text(new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Success" }.ToJsonString(), "application/json");
    }

    /// <summary>POST (create; 409 when it exists) and PUT (replace; 404 when it does not).</summary>
    private async Task<IResult> WriteAsync(string path, string ns, string? name, HttpContext context)
    {
        var obj = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        obj["metadata"]!["namespace"] = ns;
        var objectName = (string)obj["metadata"]!["name"]!;
        lock (_gate)
        {
            return CheckAndPut(path, ns, name, obj, objectName);
        }
    }

    private IResult CheckAndPut(string path, string ns, string? name, JsonObject obj, string objectName)
    {
        var exists = Get(path, ns, objectName) is not null;
        if (name is null && exists)
        {
            return Results.Text(new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "AlreadyExists", ["code"] = 409 }.ToJsonString(), "application/json", statusCode: 409);
        }

        if (name is not null && !exists)
        {
            return NotFound(path, name);
        }

        // Optimistic concurrency: a replace carrying an older resourceVersion loses (leader election relies on it).
        if (name is not null && (string?)obj["metadata"]!["resourceVersion"] is { } expected
            && expected != (string?)Get(path, ns, objectName)!["metadata"]!["resourceVersion"])
        {
            return Results.Text(new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "Conflict", ["code"] = 409 }.ToJsonString(), "application/json", statusCode: 409);
        }

        Put(path, obj);
        return Results.Text(Get(path, ns, objectName)!.ToJsonString(), "application/json", statusCode: name is null ? 201 : 200);
    }

    private static IResult NotFound(string path, string name) => Results.Text(
        new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "NotFound", ["message"] = $"{path} \"{name}\" not found", ["code"] = 404 }.ToJsonString(),
        "application/json",
        statusCode: 404);

    /// <summary>The status subresource: a JSON merge patch of <c>status</c> that leaves spec and generation alone.</summary>
    private async Task PatchStatusAsync(string path, string ns, string name, HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        string answer;
        lock (_gate)
        {
            StatusPatches.Add(($"{ns}/{name}", body, context.Request.Query["fieldManager"].FirstOrDefault()));
            if (!_objects[path].TryGetValue((ns, name), out var obj))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                answer = new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "NotFound", ["code"] = 404 }.ToJsonString();
            }
            else
            {
                MergeStatus(path, obj, body["status"]!.AsObject());
                answer = obj.ToJsonString();
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer);
    }

    /// <summary>Merges <paramref name="status"/> into the stored object's status, as a status-subresource patch does (a tunnel heartbeat, for example).</summary>
    public void PatchStatus(string path, string ns, string name, JsonObject status)
    {
        lock (_gate)
        {
            MergeStatus(path, _objects[path][(ns, name)], status);
        }
    }

    private void MergeStatus(string path, JsonObject obj, JsonObject patch)
    {
        var status = obj["status"] as JsonObject ?? new JsonObject();
        foreach (var (field, value) in patch)
        {
            status[field] = value?.DeepClone();
        }

        obj["status"] = status;
        obj["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
        Record(path, "MODIFIED", obj);
    }

    private void Record(string path, string type, JsonObject obj)
    {
        var version = long.Parse((string)obj["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture);
        _history.Add((version, path, type, obj.DeepClone().AsObject()));
        foreach (var (watchPath, lines) in _watches.Where(w => w.Path == path))
        {
            lines.Writer.TryWrite(Event(type, obj));
        }
    }

    private async Task HandleAsync(string path, HttpContext context)
    {
        var query = context.Request.Query;
        if (query["watch"] != "true")
        {
            string list;
            lock (_gate)
            {
                ListRequests.Add(path);
                list = new JsonObject
                {
                    ["kind"] = Kinds[path].ListKind,
                    ["apiVersion"] = Kinds[path].ApiVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray([.. _objects[path].Values.Select(o => (JsonNode)o.DeepClone())]),
                }.ToJsonString();
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(list);
            return;
        }

        var from = long.Parse(query["resourceVersion"].ToString() is { Length: > 0 } rv ? rv : "0", CultureInfo.InvariantCulture);
        var lines = Channel.CreateUnbounded<string>();
        lock (_gate)
        {
            WatchRequests.Add((path, from.ToString(CultureInfo.InvariantCulture)));
            if (from < _compactedBefore - 1)
            {
                lines.Writer.TryWrite(Event("ERROR", new JsonObject
                {
                    ["kind"] = "Status",
                    ["apiVersion"] = "v1",
                    ["status"] = "Failure",
                    ["message"] = $"too old resource version: {from} ({_compactedBefore - 1})",
                    ["reason"] = "Expired",
                    ["code"] = 410,
                }));
                lines.Writer.TryComplete();
            }
            else
            {
                foreach (var (_, type, obj) in _history.Where(h => h.Path == path && h.Version > from).Select(h => (h.Version, h.Type, h.Object)))
                {
                    lines.Writer.TryWrite(Event(type, obj));
                }

                _watches.Add((path, lines));
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(context.RequestAborted);
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _watches.RemoveAll(w => ReferenceEquals(w.Lines, lines));
            }
        }
    }

    private static string Event(string type, JsonObject obj) => new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();
}
