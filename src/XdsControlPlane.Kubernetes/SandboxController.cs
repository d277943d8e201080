using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>Tuning of the Sandbox controller.</summary>
public sealed record SandboxControllerOptions
{
    /// <summary>Sandboxes reconciled at once (different Sandboxes; one Sandbox is never reconciled twice at once).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>How often every Sandbox is reconciled even without a change (baseline Deployments are not watched).</summary>
    public TimeSpan Resync { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a replica checks whether it became the Lease holder (it then queues every Sandbox).</summary>
    public TimeSpan FollowerRetry { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>First retry delay after a failed reconcile; doubles per failure up to five minutes.</summary>
    public TimeSpan RetryBase { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The namespaces whose Sandboxes are reconciled; empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>The server's <c>--preview-domain</c>, for the URLs in <c>status.previews</c>; empty: previews are off.</summary>
    public string PreviewDomain { get; init; } = "";

    /// <summary>The server's <c>--preview-salt</c>, which the preview host names hash.</summary>
    public string PreviewSalt { get; init; } = "";
}

/// <summary>
/// The Sandbox controller: watches Sandboxes and the fork Deployments they own, queues the affected Sandbox on every
/// change, and reconciles it (forks, finalizer, TTL, status, Events) with a work queue that serializes each Sandbox,
/// bounds concurrency and retries failures with backoff. Only the replica holding the Lease reconciles.
/// </summary>
public sealed class SandboxController : BackgroundService
{
    private const string Name = "sandbox";
    private readonly ResourceInformer[] _informers;
    private readonly WorkQueue<(string Namespace, string Name)> _queue;
    private readonly SandboxReconciler _reconciler;
    private readonly SandboxControllerOptions _options;
    private readonly Func<bool> _isLeader;
    private readonly TimeProvider _clock;
    private readonly ILogger<SandboxController> _logger;
    private readonly ControllerMetrics _metrics;

    /// <summary>A controller acting through <paramref name="client"/> while <paramref name="isLeader"/> says so (always, when null).</summary>
    /// <param name="client">The API server.</param>
    /// <param name="clock">Time, for the queue, TTLs and resync.</param>
    /// <param name="logger">The controller's log.</param>
    /// <param name="options">Workers, resync and namespaces.</param>
    /// <param name="isLeader">Whether this replica reconciles (always, when null).</param>
    /// <param name="fieldManager">The server-side apply field manager of its writes (<see cref="FieldManagers.ControlPlane"/> when null).</param>
    /// <param name="informers">The informers shared with other components (its own, when null): Sandboxes are watched once per process.</param>
    /// <param name="metrics">Where reconciles and the work queue are measured (the default registry's, when null).</param>
    /// <param name="random">The random part of the names of the Events it records (<see cref="Random.Shared"/> when null).</param>
    public SandboxController(
        IKubernetes client,
        TimeProvider clock,
        ILogger<SandboxController> logger,
        SandboxControllerOptions? options = null,
        Func<bool>? isLeader = null,
        string? fieldManager = null,
        KubernetesInformers? informers = null,
        ControllerMetrics? metrics = null,
        Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _options = options ?? new SandboxControllerOptions();
        _isLeader = isLeader ?? (() => true);
        _metrics = metrics ?? new ControllerMetrics();
        _queue = new WorkQueue<(string, string)>(Name, clock, _metrics, _options.RetryBase);
        var events = new KubernetesEventRecorder(client, clock, logger, "sandbox-controller", random ?? Random.Shared);
        _reconciler = new SandboxReconciler(client, events, clock, logger, fieldManager ?? FieldManagers.ControlPlane) { PreviewDomain = _options.PreviewDomain, PreviewSalt = _options.PreviewSalt };
        var shared = informers ?? new KubernetesInformers(clock, logger, random);
        var sandboxes = ResourceSources.Scoped(_options.Namespaces, ns => ResourceSources.Sandboxes(client, ns)).Select(shared.For).ToArray();
        var forks = ResourceSources.Scoped(_options.Namespaces, ns => ResourceSources.ForkDeployments(client, ns)).Select(shared.For).ToArray();
        foreach (var informer in sandboxes)
        {
            informer.Subscribe(static () => { }, obj => Enqueue(obj, (string?)obj["metadata"]?["name"]));
        }

        foreach (var informer in forks)
        {
            informer.Subscribe(static () => { }, obj => Enqueue(obj, (string?)obj["metadata"]?["labels"]?[SandboxLabels.Sandbox]));
        }

        _informers = [.. sandboxes, .. forks];
    }

    /// <summary>True once Sandboxes and fork Deployments have been listed.</summary>
    public bool HasSynced => _informers.All(i => i.HasSynced);

    /// <summary>
    /// True when every watch has delivered <paramref name="resourceVersion"/> (or later) and every Sandbox those events
    /// queued has been reconciled: what the controller will do about the cluster as of that version is done.
    /// </summary>
    internal bool HasSettled(long resourceVersion) =>
        _informers.All(i => long.TryParse(i.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture, out var seen) && seen >= resourceVersion) && _queue.IsIdle;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task[] running =
        [
            .. _informers.Select(informer => informer.RunAsync(stoppingToken)),
            _queue.RunAsync(Math.Max(1, _options.Workers), ProcessAsync, stoppingToken),
            ResyncAsync(stoppingToken),
            FollowLeadershipAsync(stoppingToken),
        ];
        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void Enqueue(JsonObject obj, string? sandbox)
    {
        if ((string?)obj["metadata"]?["namespace"] is { } ns && !string.IsNullOrEmpty(sandbox))
        {
            _queue.Add((ns, sandbox));
        }
    }

    private async Task ProcessAsync((string Namespace, string Name) key, CancellationToken cancellationToken)
    {
        if (!_isLeader())
        {
            return;   // the Lease holder reconciles; should this replica become it, every Sandbox is queued then
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            var recheck = await _reconciler.ReconcileAsync(key.Namespace, key.Name, cancellationToken).ConfigureAwait(false);
            _queue.Forget(key);
            if (recheck is { } after)
            {
                _queue.AddAfter(key, after);
            }

            _metrics.Reconciled(Name, "success");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Someone else wrote first (the status writer, another controller): an ordinary race between writers, retried
            // with the newer version; not worth a warning.
            var delay = _queue.AddRateLimited(key);
            _metrics.Reconciled(Name, "conflict");
            KubernetesLog.ReconcileConflict(_logger, Name, key.Namespace, key.Name, delay.TotalSeconds);
        }
        catch (Exception e)
        {
            // API errors, network trouble: retried with backoff.
            var delay = _queue.AddRateLimited(key);
            _metrics.Reconciled(Name, "error");
            KubernetesLog.ReconcileFailed(_logger, Name, $"{key.Namespace}/{key.Name}", e.Message, delay.TotalSeconds, e);
        }
        finally
        {
            _metrics.ReconcileTook(Name, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Queues every known Sandbox when this replica becomes the Lease holder (a follower drops what it is handed).</summary>
    private async Task FollowLeadershipAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FollowerRetry, _clock);
        var leading = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = _isLeader();
                if (now && !leading)
                {
                    QueueAll();
                }

                leading = now;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void QueueAll()
    {
        foreach (var informer in _informers.Where(i => i.Kind == Sandbox.KindName))
        {
            foreach (var sandbox in informer.Objects)
            {
                _queue.Add((sandbox.Resource.Metadata.Namespace, sandbox.Resource.Metadata.Name));
            }

            // Sandboxes that do not read as the model are reconciled too: their status reports why.
            foreach (var key in informer.Problems.Select(p => p.Resource).OfType<ResourceKey>())
            {
                _queue.Add((key.Namespace, key.Name));
            }
        }
    }

    /// <summary>Queues every known Sandbox now and then: catches what no watched object announces (a baseline's new image).</summary>
    private async Task ResyncAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Resync, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                QueueAll();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _queue.Dispose();
        base.Dispose();
    }
}
