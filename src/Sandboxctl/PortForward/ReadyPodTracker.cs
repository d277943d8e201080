using System.Threading.Channels;
using Polly;

namespace Sandboxctl.PortForward;

/// <summary>
/// The pod a session forwards to. It checks that pod every <c>checkInterval</c>, and at once when a connection to
/// it fails; when the pod is gone or not ready it re-discovers a ready pod of the target (with backoff), says what
/// happened, and hands the new pod to new connections. Until then, <see cref="CurrentAsync"/> waits.
/// </summary>
internal sealed class ReadyPodTracker
{
    private readonly PortForwardTargetResolver _resolver;
    private readonly PortForwardLog _log;
    private readonly TimeSpan _checkInterval;
    private readonly Channel<ForwardingPod> _suspects = Channel.CreateBounded<ForwardingPod>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _gate = new();
    private readonly ResiliencePipeline _rediscovery;
    private TaskCompletionSource<ForwardingPod> _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Tracks <paramref name="first"/>, re-discovering with <paramref name="backoff"/> (retried until a pod is ready).</summary>
    public ReadyPodTracker(PortForwardTargetResolver resolver, PortForwardLog log, ForwardingPod first, TimeSpan checkInterval, RetryBackoff backoff)
    {
        ArgumentNullException.ThrowIfNull(backoff);
        _rediscovery = backoff.Retry(new PredicateBuilder().Handle<NoReadyPodException>().Handle<CliException>(), maxRetryAttempts: int.MaxValue);
        _resolver = resolver;
        _log = log;
        _checkInterval = checkInterval;
        _current.SetResult(first);
    }

    public PortForwardTarget Target => _resolver.Target;

    /// <summary>The pod to forward to, once there is a ready one.</summary>
    public Task<ForwardingPod> CurrentAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _current.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A connection to <paramref name="pod"/> failed: check it now rather than at the next interval.</summary>
    public void Suspect(ForwardingPod pod) => _suspects.Writer.TryWrite(pod);

    /// <summary>Checks the current pod until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var unreachable = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var interval = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                interval.CancelAfter(_checkInterval);
                try
                {
                    await _suspects.Reader.ReadAsync(interval.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The interval elapsed: a routine check.
                }
            }

            var pod = await CurrentAsync(cancellationToken).ConfigureAwait(false);
            bool? ready;
            try
            {
                ready = await _resolver.IsStillReadyAsync(pod, cancellationToken).ConfigureAwait(false);
            }
            catch (CliException e)
            {
                // The API server is unreachable: the pod may be fine, keep forwarding and check again later (say so once).
                if (!unreachable)
                {
                    _log.Problem($"cannot check pod {pod.Name}, still forwarding to it: {e.Message}");
                }

                unreachable = true;
                continue;
            }

            unreachable = false;

            if (ready == true)
            {
                continue;
            }

            lock (_gate)
            {
                _current = new TaskCompletionSource<ForwardingPod>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            await ReplaceAsync(pod, ready is null ? "is gone" : "is not ready", cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReplaceAsync(ForwardingPod old, string what, CancellationToken cancellationToken)
    {
        ForwardingPod? next = null;
        try
        {
            next = await _resolver.FindReadyPodAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CliException)
        {
            // Unreachable for a moment, or a port the new pods lack: the retries below say nothing new either.
        }

        if (next is null)
        {
            _log.Info($"pod {old.Name} {what}; waiting for a ready pod of {_resolver.Target}…");
            next = await _rediscovery.ExecuteAsync(
                async token => await _resolver.FindReadyPodAsync(token).ConfigureAwait(false) ?? throw new NoReadyPodException(),
                cancellationToken).ConfigureAwait(false);
            _log.Info($"forwarding to pod {next.Name}");
        }
        else
        {
            _log.Info(next.Uid == old.Uid ? $"pod {old.Name} {what}, then ready again; forwarding to it" : $"pod {old.Name} {what}; forwarding to {next.Name}");
        }

        while (_suspects.Reader.TryRead(out _))
        {
            // Failures of the old pod's connections say nothing about the new pod.
        }

        lock (_gate)
        {
            _current.SetResult(next);
        }
    }

    /// <summary>No pod of the target is ready (yet).</summary>
    private sealed class NoReadyPodException : Exception
    {
        public NoReadyPodException()
            : base("no ready pod")
        {
        }
    }
}
