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
internal sealed partial class FakeApiServer : IAsyncDisposable
{
    public const string Services = "/api/v1/services";
    public const string EndpointSlices = "/apis/discovery.k8s.io/v1/endpointslices";
    public const string RouteGroups = "/apis/sandboxctl.io/v1alpha1/routegroups";
    public const string Sandboxes = "/apis/sandboxctl.io/v1alpha1/sandboxes";
    public const string LocalWorkloads = "/apis/sandboxctl.io/v1alpha1/localworkloads";
    public const string PreviewGrants = "/apis/sandboxctl.io/v1alpha1/previewgrants";
    public const string Leases = "/apis/coordination.k8s.io/v1/leases";
    public const string Pods = "/api/v1/pods";
    public const string Deployments = "/apis/apps/v1/deployments";
    public const string Events = "/api/v1/events";

    private static readonly Dictionary<string, (string ApiVersion, string ListKind)> Kinds = new(StringComparer.Ordinal)
    {
        [Services] = ("v1", "ServiceList"),
        [EndpointSlices] = ("discovery.k8s.io/v1", "EndpointSliceList"),
        [RouteGroups] = ("sandboxctl.io/v1alpha1", "RouteGroupList"),
        [Sandboxes] = ("sandboxctl.io/v1alpha1", "SandboxList"),
        [LocalWorkloads] = ("sandboxctl.io/v1alpha1", "LocalWorkloadList"),
        [PreviewGrants] = ("sandboxctl.io/v1alpha1", "PreviewGrantList"),
        [Leases] = ("coordination.k8s.io/v1", "LeaseList"),
        [Pods] = ("v1", "PodList"),
        [Deployments] = ("apps/v1", "DeploymentList"),
        [Events] = ("v1", "EventList"),
    };

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task> _heldLists = new(StringComparer.Ordinal);
    private Task _heldStatusPatches = Task.CompletedTask;
    private readonly Dictionary<string, Dictionary<(string, string), JsonObject>> _objects = Kinds.Keys.ToDictionary(k => k, _ => new Dictionary<(string, string), JsonObject>(), StringComparer.Ordinal);
    private readonly List<(long Version, string Path, string Type, JsonObject Object)> _history = [];
    private readonly List<(string Path, Func<JsonObject, bool> Selected, Channel<string> Lines)> _watches = [];
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
    /// <summary>A Deployment <paramref name="ns"/>/<paramref name="name"/> whose pods carry <c>app: name</c> and run <paramref name="image"/>.</summary>
    public static JsonObject DeploymentObject(string ns, string name, string image) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = name, ["image"] = image }) },
            },
        },
    };

    public static JsonObject ServiceObject(string ns, string name, int port = 8080) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port, ["protocol"] = "TCP" }) },
    };

    /// <summary>
    /// Every status patch so far: namespace/name, the patch body and the field manager that sent it (a copy taken under
    /// the lock: the server adds to it while a test reads).
    /// </summary>
    public List<(string Name, JsonObject Body, string? FieldManager)> StatusPatches
    {
        get
        {
            lock (_gate)
            {
                return [.. _statusPatches];
            }
        }
    }

    private readonly List<(string Name, JsonObject Body, string? FieldManager)> _statusPatches = [];

    /// <summary>Whether the status patch at <paramref name="index"/> of <see cref="StatusPatches"/> was refused 409 (it was conditional on an older resource version).</summary>
    public bool StatusPatchConflicted(int index)
    {
        lock (_gate)
        {
            return _conflictedStatusPatches.Contains(index);
        }
    }

    private readonly HashSet<int> _conflictedStatusPatches = [];

    /// <summary>The stored object, or null.</summary>
    public JsonObject? Get(string path, string ns, string name)
    {
        lock (_gate)
        {
            return _objects[path].TryGetValue((ns, name), out var obj) ? obj.DeepClone().AsObject() : null;
        }
    }

    /// <summary>Every list request so far, by path (a copy taken under the lock: the server adds to it while a test reads).</summary>
    public List<string> ListRequests
    {
        get
        {
            lock (_gate)
            {
                return [.. _listRequests];
            }
        }
    }

    /// <summary>Every watch request so far: path and the resource version it asked to start from (a copy taken under the lock).</summary>
    public List<(string Path, string ResourceVersion)> WatchRequests
    {
        get
        {
            lock (_gate)
            {
                return [.. _watchRequests];
            }
        }
    }

    private readonly List<string> _listRequests = [];
    private readonly List<(string Path, string ResourceVersion)> _watchRequests = [];

    /// <summary>
    /// How a watch from a compacted version is refused: false (the default) as an API server does once the watch has
    /// started — HTTP 200 and an ERROR event with a 410 Status; true as it does before — HTTP 410 and the Status as the body.
    /// </summary>
    public bool GoneAsHttpStatus { get; set; }

    /// <summary>The next this many watch requests fail with HTTP 500 (an API server restarting, say).</summary>
    public int FailingWatches { get; set; }

    /// <summary>Status patches are answered (and applied) only once <paramref name="release"/> completes (an API server slow to write, or throttling).</summary>
    public void HoldStatusPatches(Task release)
    {
        lock (_gate)
        {
            _heldStatusPatches = release;
        }
    }

    /// <summary>Lists of <paramref name="path"/> are answered only once <paramref name="release"/> completes (a slow kind).</summary>
    public void HoldLists(string path, Task release)
    {
        lock (_gate)
        {
            _heldLists[path] = release;
        }
    }

    /// <summary>The resource versions the watches of <paramref name="path"/> asked to start from, in order (a copy, taken under the lock).</summary>
    public string[] WatchesOf(string path)
    {
        lock (_gate)
        {
            return [.. _watchRequests.Where(w => w.Path == path).Select(w => w.ResourceVersion)];
        }
    }

    /// <summary>How many requests needing <paramref name="permission"/> (as <see cref="Permissions"/> spells it) have arrived.</summary>
    public int RequestCount(string permission)
    {
        lock (_gate)
        {
            return Requests.Count(r => r == permission);
        }
    }

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

            server.Record(context.Request);
            if (await server.InjectFaultAsync(context))
            {
                return;
            }

            if (server.Forbidden(context.Request) is { } forbidden)
            {
                await WriteAsync(context, forbidden);
                return;
            }

            if (server.ForbiddenObject(context.Request))
            {
                await WriteAsync(context, (403, Status(403, "Forbidden", $"the fake API server forbids {context.Request.Path}")));
                return;
            }

            await next(context);
        });
        app.UseWebSockets();
        foreach (var path in Kinds.Keys)
        {
            app.MapGet(path, (HttpContext context) => server.HandleAsync(path, null, context));
        }

        // Namespaced routes of every kind, core ("/api/v1/namespaces/…") and grouped ("/apis/g/v/namespaces/…").
        foreach (var prefix in new[] { "/api/{version}", "/apis/{group}/{version}" })
        {
            var collection = prefix + "/namespaces/{ns}/{plural}";
            app.MapGet(collection, (string ns, HttpContext context) => server.Dispatch(context, path => server.HandleAsync(path, ns, context)));
            app.MapPost(collection, (string ns, HttpContext context) => server.Dispatch(context, path => server.WriteAsync(path, ns, null, context)));
            app.MapGet(collection + "/{name}", (string ns, string name, HttpContext context) => server.Dispatch(context, path => server.GetOneAsync(path, ns, name, context)));
            app.MapPut(collection + "/{name}", (string ns, string name, HttpContext context) => server.Dispatch(context, path => server.WriteAsync(path, ns, name, context)));
            app.MapPatch(collection + "/{name}", (string ns, string name, HttpContext context) => server.Dispatch(context, path => server.PatchAsync(path, ns, name, context)));
            app.MapDelete(collection + "/{name}", (string ns, string name, HttpContext context) => server.Dispatch(context, path => server.DeleteOneAsync(path, ns, name, context)));
            app.MapMethods(collection + "/{name}/status", ["PATCH"], (string ns, string name, HttpContext context) => server.Dispatch(context, path => server.PatchStatusAsync(path, ns, name, context)));
        }

        server.MapSubresources(app);
        server.MapClusterScoped(app);
        server.MapReviews(app);
        await app.StartAsync();
        server.Url = new Uri(app.Urls.First());
        return server;
    }

    /// <summary>Extra subresources (port-forward…) that other parts of this partial class map.</summary>
    partial void MapSubresources(WebApplication app);

    /// <summary>Cluster-scoped kinds (MutatingWebhookConfigurations) that other parts of this partial class map.</summary>
    partial void MapClusterScoped(WebApplication app);

    /// <summary>Create-only review kinds (TokenReview) that other parts of this partial class map.</summary>
    partial void MapReviews(WebApplication app);

    /// <summary>The cluster-wide collection path of a namespaced request, e.g. <c>/apis/apps/v1/deployments</c>.</summary>
    private static string? Collection(HttpContext context)
    {
        var values = context.Request.RouteValues;
        var path = values["group"] is string group
            ? $"/apis/{group}/{values["version"]}/{values["plural"]}"
            : $"/api/{values["version"]}/{values["plural"]}";
        return Kinds.ContainsKey(path) ? path : null;
    }

    private Task Dispatch(HttpContext context, Func<string, Task> handle) =>
        Collection(context) is { } path ? handle(path) : WriteAsync(context, NotFound(context.Request.Path, ""));

    private static Task WriteAsync(HttpContext context, (int Code, JsonObject Body) answer)
    {
        context.Response.StatusCode = answer.Code;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(answer.Body.ToJsonString());
    }

    /// <summary>
    /// Creates or updates an object, as a user's apply does: the generation moves when the spec changes, status is
    /// kept, uid and creation time are assigned once. An update that leaves a deleting object without finalizers
    /// deletes it.
    /// </summary>
    public void Put(string path, JsonObject obj)
    {
        lock (_gate)
        {
            var metadata = obj["metadata"]!.AsObject();
            metadata["namespace"] ??= "default";
            var key = ((string)metadata["namespace"]!, (string)metadata["name"]!);
            var exists = _objects[path].TryGetValue(key, out var old);
            var type = exists ? "MODIFIED" : "ADDED";
            var oldGeneration = (long?)old?["metadata"]?["generation"] ?? 0;
            metadata["generation"] = exists && JsonNode.DeepEquals(old!["spec"], obj["spec"]) ? oldGeneration : oldGeneration + 1;
            metadata["uid"] = old?["metadata"]?["uid"]?.DeepClone() ?? metadata["uid"]?.DeepClone() ?? Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = old?["metadata"]?["creationTimestamp"]?.DeepClone()
                ?? metadata["creationTimestamp"]?.DeepClone() ?? DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            if (old?["metadata"]?["deletionTimestamp"] is { } deleting)
            {
                metadata["deletionTimestamp"] = deleting.DeepClone();
            }

            if (old?["status"] is { } status)
            {
                obj["status"] = status.DeepClone();
            }

            metadata["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
            _objects[path][key] = obj;
            Record(path, type, obj);
            if (metadata["deletionTimestamp"] is not null && Finalizers(obj) == 0)
            {
                Remove(path, key);
            }
        }
    }

    /// <summary>
    /// Deletes an object as the API server does: one with finalizers only gets a deletion timestamp (the controller
    /// that owns the finalizer finishes the job); otherwise it goes, and so do the objects whose owner references
    /// name it (the garbage collector's background cascade).
    /// </summary>
    public void Delete(string path, string ns, string name)
    {
        lock (_gate)
        {
            if (!_objects[path].TryGetValue((ns, name), out var obj))
            {
                return;
            }

            if (Finalizers(obj) > 0)
            {
                if (obj["metadata"]!["deletionTimestamp"] is null)
                {
                    obj["metadata"]!["deletionTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                    obj["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
                    Record(path, "MODIFIED", obj);
                }

                return;
            }

            Remove(path, (ns, name));
        }
    }

    /// <summary>Sets a Deployment's status the way the deployment controller does once its pods are (or are not) ready.</summary>
    public void SetDeploymentReady(string ns, string name, bool ready)
    {
        lock (_gate)
        {
            var deployment = _objects[Deployments][(ns, name)];
            var replicas = (int?)deployment["spec"]?["replicas"] ?? 1;
            MergeStatus(Deployments, deployment, new JsonObject
            {
                ["observedGeneration"] = deployment["metadata"]!["generation"]!.DeepClone(),
                ["replicas"] = replicas,
                ["updatedReplicas"] = replicas,
                ["readyReplicas"] = ready ? replicas : 0,
                ["availableReplicas"] = ready ? replicas : 0,
            });
        }
    }

    /// <summary>The stored objects of a kind in a namespace.</summary>
    public JsonObject[] List(string path, string ns)
    {
        lock (_gate)
        {
            return [.. _objects[path].Where(o => o.Key.Item1 == ns).OrderBy(o => o.Key.Item2, StringComparer.Ordinal).Select(o => o.Value.DeepClone().AsObject())];
        }
    }

    private static int Finalizers(JsonObject obj) => obj["metadata"]?["finalizers"] is JsonArray { Count: > 0 } finalizers ? finalizers.Count : 0;

    private void Remove(string path, (string, string) key)
    {
        if (!_objects[path].Remove(key, out var obj))
        {
            return;
        }

        obj["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
        Record(path, "DELETED", obj);
        var uid = (string?)obj["metadata"]!["uid"];
        foreach (var (kind, objects) in _objects)
        {
            var dependents = objects.Where(o => o.Value["metadata"]?["ownerReferences"] is JsonArray owners && owners.Any(r => (string?)r?["uid"] == uid)).Select(o => o.Key).ToList();
            foreach (var dependent in dependents)
            {
                Delete(kind, dependent.Item1, dependent.Item2);
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
            foreach (var (path, _, lines) in _watches)
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
            foreach (var (_, _, lines) in _watches)
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

    private Task GetOneAsync(string path, string ns, string name, HttpContext context) =>
        Get(path, ns, name) is { } obj ? WriteAsync(context, (200, obj)) : WriteAsync(context, NotFound(path, name));

    private Task DeleteOneAsync(string path, string ns, string name, HttpContext context)
    {
        if (Get(path, ns, name) is not { } before)
        {
            return WriteAsync(context, NotFound(path, name));
        }

        // The API server answers with the object: as it is now when finalizers hold it, else as it was.
        Delete(path, ns, name);
        return WriteAsync(context, (200, Get(path, ns, name) ?? before));
    }

    /// <summary>POST (create; 409 when it exists) and PUT (replace; 404 when it does not).</summary>
    private async Task WriteAsync(string path, string ns, string? name, HttpContext context)
    {
        var obj = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        obj["metadata"] ??= new JsonObject();
        obj["metadata"]!["namespace"] = ns;
        if (obj["metadata"]!["name"] is null && (string?)obj["metadata"]!["generateName"] is { } prefix)
        {
            obj["metadata"]!["name"] = prefix + Guid.NewGuid().ToString("N")[..5];
        }

        (int, JsonObject) answer;
        lock (_gate)
        {
            answer = CheckAndPut(path, ns, name, obj, (string)obj["metadata"]!["name"]!);
        }

        await WriteAsync(context, answer);
    }

    /// <summary>A JSON merge patch (RFC 7386) of the object; a <c>metadata.resourceVersion</c> in the patch must match.</summary>
    private async Task PatchAsync(string path, string ns, string name, HttpContext context)
    {
        var patch = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        (int, JsonObject) answer;
        lock (_gate)
        {
            if (Get(path, ns, name) is not { } current)
            {
                answer = NotFound(path, name);
            }
            else
            {
                var merged = MergePatch(current, patch)!.AsObject();
                answer = CheckAndPut(path, ns, name, merged, name);
            }
        }

        await WriteAsync(context, answer);
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject targetObject ? targetObject.DeepClone().AsObject() : new JsonObject();
        foreach (var (field, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(field);
            }
            else
            {
                result[field] = MergePatch(result[field], value);
            }
        }

        return result;
    }

    private (int Code, JsonObject Body) CheckAndPut(string path, string ns, string? name, JsonObject obj, string objectName)
    {
        var exists = Get(path, ns, objectName) is not null;
        if (name is null && exists)
        {
            return (409, Status(409, "AlreadyExists", $"\"{objectName}\" already exists"));
        }

        if (name is not null && !exists)
        {
            return NotFound(path, name);
        }

        // Optimistic concurrency: a replace carrying an older resourceVersion loses (leader election relies on it).
        if (name is not null && (string?)obj["metadata"]!["resourceVersion"] is { } expected
            && expected != (string?)Get(path, ns, objectName)!["metadata"]!["resourceVersion"])
        {
            return (409, Status(409, "Conflict", "the object has been modified"));
        }

        Put(path, obj);
        return (name is null ? 201 : 200, Get(path, ns, objectName) ?? obj);
    }

    private static (int Code, JsonObject Body) NotFound(string path, string name) =>
        (404, Status(404, "NotFound", $"{path} \"{name}\" not found"));

    /// <summary>The status subresource: a JSON merge patch of <c>status</c> that leaves spec and generation alone.</summary>
    private async Task PatchStatusAsync(string path, string ns, string name, HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        Task held;
        int index;
        lock (_gate)
        {
            index = _statusPatches.Count;
            _statusPatches.Add(($"{ns}/{name}", body, context.Request.Query["fieldManager"].FirstOrDefault()));
            held = _heldStatusPatches;
        }

        await held.WaitAsync(context.RequestAborted);
        (int, JsonObject) answer;
        lock (_gate)
        {
            if (!_objects[path].TryGetValue((ns, name), out var obj))
            {
                answer = NotFound(path, name);
            }
            else if ((string?)body["metadata"]?["resourceVersion"] is { } expected && expected != (string?)obj["metadata"]!["resourceVersion"])
            {
                // A patch carrying a resource version is conditional on it, as on a real API server.
                answer = (409, Status(409, "Conflict", "the object has been modified"));
                _conflictedStatusPatches.Add(index);
            }
            else
            {
                MergeStatus(path, obj, body["status"]!.AsObject());
                answer = (200, obj.DeepClone().AsObject());
            }
        }

        await WriteAsync(context, answer);
    }

    /// <summary>Merges <paramref name="status"/> into the stored object's status, as a status-subresource patch does (a tunnel heartbeat, for example).</summary>
    public void PatchStatus(string path, string ns, string name, JsonObject status)
    {
        lock (_gate)
        {
            MergeStatus(path, _objects[path][(ns, name)], status);
        }
    }

    /// <summary>An RFC 7386 merge of <paramref name="patch"/> into the status, as the API server does it: objects merge field by field, null removes a field, arrays are replaced.</summary>
    private void MergeStatus(string path, JsonObject obj, JsonObject patch)
    {
        obj["status"] = MergePatch(obj["status"]?.DeepClone(), patch.DeepClone()) ?? new JsonObject();
        obj["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
        Record(path, "MODIFIED", obj);
    }

    private void Record(string path, string type, JsonObject obj)
    {
        var version = long.Parse((string)obj["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture);
        _history.Add((version, path, type, obj.DeepClone().AsObject()));
        foreach (var (_, _, lines) in _watches.Where(w => w.Path == path && w.Selected(obj)))
        {
            lines.Writer.TryWrite(Event(type, obj));
        }
    }

    /// <summary>List or watch (<c>?watch=true</c>) of one kind, in all namespaces or one, filtered by <c>labelSelector</c> and the <c>fieldSelector</c> <c>metadata.name=NAME</c>.</summary>
    private async Task HandleAsync(string path, string? ns, HttpContext context)
    {
        var query = context.Request.Query;
        var selector = LabelSelector.Parse(query["labelSelector"].ToString());
        var named = query["fieldSelector"].ToString() is { Length: > 0 } field
            ? field.StartsWith("metadata.name=", StringComparison.Ordinal) ? field["metadata.name=".Length..] : throw new NotSupportedException($"fieldSelector {field}")
            : null;
        bool Selected(JsonObject obj) => (ns is null || (string?)obj["metadata"]?["namespace"] == ns) && selector(obj) && (named is null || (string?)obj["metadata"]?["name"] == named);
        if (query["watch"] != "true")
        {
            Task? held;
            lock (_gate)
            {
                held = _heldLists.GetValueOrDefault(path);
            }

            if (held is not null)
            {
                await held.WaitAsync(context.RequestAborted);
            }

            string list;
            lock (_gate)
            {
                var continued = query["continue"].ToString();
                if (continued.Length == 0)
                {
                    _listRequests.Add(path);
                }

                var (version, items, next) = ListPage(path, Selected, continued, int.TryParse(query["limit"], CultureInfo.InvariantCulture, out var limit) ? limit : 0);
                var metadata = new JsonObject { ["resourceVersion"] = version };
                if (next is not null)
                {
                    metadata["continue"] = next;
                }

                list = new JsonObject
                {
                    ["kind"] = Kinds[path].ListKind,
                    ["apiVersion"] = Kinds[path].ApiVersion,
                    ["metadata"] = metadata,
                    ["items"] = new JsonArray([.. items]),
                }.ToJsonString();
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(list);
            return;
        }

        var from = long.Parse(query["resourceVersion"].ToString() is { Length: > 0 } rv ? rv : "0", CultureInfo.InvariantCulture);
        var lines = Channel.CreateUnbounded<string>();
        (int Code, JsonObject Body)? refused = null;
        lock (_gate)
        {
            _watchRequests.Add((path, from.ToString(CultureInfo.InvariantCulture)));
            if (FailingWatches > 0)
            {
                FailingWatches--;
                refused = (500, Status(500, "InternalError", "the fake API server was told to fail this watch"));
            }
            else if (from < _compactedBefore - 1)
            {
                var gone = Status(410, "Expired", $"too old resource version: {from} ({_compactedBefore - 1})");
                if (GoneAsHttpStatus)
                {
                    refused = (410, gone);
                }
                else
                {
                    lines.Writer.TryWrite(Event("ERROR", gone));
                    lines.Writer.TryComplete();
                }
            }
            else
            {
                foreach (var (_, type, obj) in _history.Where(h => h.Path == path && h.Version > from && Selected(h.Object)).Select(h => (h.Version, h.Type, h.Object)))
                {
                    lines.Writer.TryWrite(Event(type, obj));
                }

                _watches.Add((path, Selected, lines));
            }
        }

        if (refused is { } answer)
        {
            await WriteAsync(context, answer);
            return;
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

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static string Event(string type, JsonObject obj) => new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();
}
