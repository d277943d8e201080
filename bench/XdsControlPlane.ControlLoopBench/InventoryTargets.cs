using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace XdsControlPlane.ControlLoopBench;

/// <summary>Where the inventory lives and how an edit reaches the server: manifest files or the fake Kubernetes API server.</summary>
internal interface IInventoryTarget : IAsyncDisposable
{
    /// <summary>The source's name in the report.</summary>
    string Source { get; }

    /// <summary>Puts the whole inventory in place; returns the server's source arguments.</summary>
    Task<IReadOnlyList<string>> StartAsync(Inventory inventory, CancellationToken cancellationToken);

    /// <summary>Changes an object's spec or metadata as a user does (a file saved, an apply).</summary>
    Task EditAsync(InventoryObject item, Action<JsonObject> change, CancellationToken cancellationToken);

    /// <summary>Replaces an object's status as its controller does; <paramref name="status"/> gets the current status (or null).</summary>
    Task EditStatusAsync(InventoryObject item, Func<JsonObject?, JsonObject> status, CancellationToken cancellationToken);

    /// <summary>
    /// How many writes of fork objects (Deployments and Services created, changed or deleted: only the Sandbox controller
    /// makes those) and of Sandboxes (patches of their metadata or status: the Sandbox controller and the routing status
    /// writer) the source has seen so far; null where no controller runs (manifests).
    /// </summary>
    ControllerWrites? Writes() => null;
}

/// <summary>
/// The manifest directory source: every object as a YAML document (JSON is YAML) in about 70 files of a temporary
/// directory; an edit rewrites the file that holds the object the way editors save (a temporary file, then a rename).
/// </summary>
internal sealed class ManifestDirectoryTarget : IInventoryTarget
{
    private readonly string _directory = Directory.CreateTempSubdirectory("control-loop-bench-").FullName;
    private Inventory _inventory = null!;

    public string Source => "manifests";

    public Task<IReadOnlyList<string>> StartAsync(Inventory inventory, CancellationToken cancellationToken)
    {
        _inventory = inventory;
        foreach (var file in inventory.Objects.Where(o => o.Collection != FakeApiServer.Deployments).Select(o => o.File).Distinct())
        {
            Write(file);
        }

        return Task.FromResult<IReadOnlyList<string>>(["--manifests", _directory]);
    }

    /// <summary>How many manifest files the inventory was written to.</summary>
    public int Files => Directory.GetFiles(_directory, "*.yaml").Length;

    public Task EditAsync(InventoryObject item, Action<JsonObject> change, CancellationToken cancellationToken)
    {
        change(item.Body);
        Write(item.File);
        return Task.CompletedTask;
    }

    public Task EditStatusAsync(InventoryObject item, Func<JsonObject?, JsonObject> status, CancellationToken cancellationToken)
    {
        item.Body["status"] = status(item.Body["status"]?.DeepClone().AsObject());
        Write(item.File);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private void Write(string file)
    {
        var text = string.Join("---\n", _inventory.InFile(file).Select(o => o.Body.ToJsonString() + "\n"));
        var temporary = Path.Combine(_directory, $".{file}.tmp");
        File.WriteAllText(temporary, text);
        File.Move(temporary, Path.Combine(_directory, file), overwrite: true);
    }
}

/// <summary>
/// The Kubernetes source: the tests' fake API server on loopback holding the inventory, and a kubeconfig for it. An
/// edit changes the stored object (read back first, so the controller's finalizers and status stay) and emits a watch event.
/// </summary>
internal sealed class FakeClusterTarget : IInventoryTarget
{
    /// <summary>The requests (as RBAC permissions) that write fork objects.</summary>
    private static readonly string[] ForkWritePermissions =
        [.. new[] { "/services", "apps/deployments" }.SelectMany(r => new[] { "create", "update", "patch", "delete" }.Select(v => $"{r}:{v}"))];

    /// <summary>The requests (as RBAC permissions) that write Sandboxes.</summary>
    private static readonly string[] SandboxWritePermissions = ["sandboxctl.io/sandboxes:patch", "sandboxctl.io/sandboxes/status:patch"];

    private readonly string _kubeconfig = Path.Combine(Path.GetTempPath(), $"control-loop-bench-{Guid.NewGuid():N}.kubeconfig");
    private FakeApiServer? _api;

    public string Source => "kubernetes";

    public async Task<IReadOnlyList<string>> StartAsync(Inventory inventory, CancellationToken cancellationToken)
    {
        _api = await FakeApiServer.StartAsync();
        foreach (var item in inventory.Objects)
        {
            _api.Put(item.Collection, item.Body.DeepClone().AsObject());
        }

        await File.WriteAllTextAsync(_kubeconfig, FakeApiServer.KubeconfigYaml(_api.Url.ToString()), cancellationToken);
        return ["--kubernetes", "--kubeconfig", _kubeconfig];
    }

    public Task EditAsync(InventoryObject item, Action<JsonObject> change, CancellationToken cancellationToken)
    {
        var current = _api!.Get(item.Collection, item.Namespace, item.Name) ?? item.Body.DeepClone().AsObject();
        change(current);
        _api.Put(item.Collection, current);
        return Task.CompletedTask;
    }

    public Task EditStatusAsync(InventoryObject item, Func<JsonObject?, JsonObject> status, CancellationToken cancellationToken)
    {
        var current = _api!.Get(item.Collection, item.Namespace, item.Name);
        _api.PatchStatus(item.Collection, item.Namespace, item.Name, status(current?["status"]?.DeepClone().AsObject()));
        return Task.CompletedTask;
    }

    public ControllerWrites? Writes() => new(ForkWritePermissions.Sum(_api!.RequestCount), SandboxWritePermissions.Sum(_api.RequestCount));

    /// <summary>
    /// Waits until the Sandbox controller has made every Sandbox's forks (a Service labelled with the Sandbox for each
    /// fork) and written its status, and then has written nothing for a second: the state a restart of the control plane
    /// finds. Polls the fake API server's store (a bench, not a test: nothing to signal on across the process boundary).
    /// </summary>
    public async Task WaitForForksAsync(Inventory inventory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        var sandboxes = inventory.Objects.Where(o => o.Collection == FakeApiServer.Sandboxes).ToList();
        ControllerWrites? lastWrites = null;
        var quietSince = DateTimeOffset.UtcNow;
        while (true)
        {
            var done = sandboxes.All(s =>
                _api!.Get(FakeApiServer.Sandboxes, s.Namespace, s.Name)?["status"]?["phase"] is not null
                && _api.List(FakeApiServer.Services, s.Namespace).Any(svc => (string?)svc["metadata"]?["labels"]?["sandboxctl.io/sandbox"] == s.Name));
            var writes = Writes();
            if (writes != lastWrites)
            {
                (lastWrites, quietSince) = (writes, DateTimeOffset.UtcNow);
            }

            if (done && DateTimeOffset.UtcNow - quietSince >= TimeSpan.FromSeconds(1))
            {
                return;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"the Sandbox controller did not make the forks within {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        File.Delete(_kubeconfig);
    }
}

/// <summary>Writes counted at the fake API server: of fork Deployments and Services, and of Sandboxes (metadata or status).</summary>
internal sealed record ControllerWrites(int Forks, int Sandboxes)
{
    public static ControllerWrites operator -(ControllerWrites later, ControllerWrites earlier) => new(later.Forks - earlier.Forks, later.Sandboxes - earlier.Sandboxes);

    public override string ToString() => $"{Forks} of forks, {Sandboxes} of Sandboxes";
}
