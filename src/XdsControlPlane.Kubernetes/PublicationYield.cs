namespace XdsControlPlane.Kubernetes;

/// <summary>
/// How background work gives way to publication: from a change of what translation reads (<see cref="Due"/>, told
/// by the informers) until the pipeline's next pass (<see cref="Done"/>), <see cref="WaitAsync"/> holds a status write
/// back, for a bounded time, so an EndpointSlice edit never shares the CPU and the API server's attention with a burst of
/// status writes. A change that arrives during a pass is released by that pass: best effort, never a deadlock.
/// Thread-safe; <see cref="Due"/> and <see cref="Done"/> never block.
/// </summary>
internal sealed class PublicationYield
{
    private readonly Lock _gate = new();
    private TaskCompletionSource? _due;

    /// <summary>A change of what translation reads waits for the pipeline.</summary>
    public void Due()
    {
        lock (_gate)
        {
            _due ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>The pipeline finished a pass.</summary>
    public void Done()
    {
        TaskCompletionSource? due;
        lock (_gate)
        {
            (due, _due) = (_due, null);
        }

        due?.TrySetResult();
    }

    /// <summary>Returns at once when no publication is due, else when it is done or <paramref name="longest"/> has passed on <paramref name="clock"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task WaitAsync(TimeSpan longest, TimeProvider clock, CancellationToken cancellationToken)
    {
        TaskCompletionSource? due;
        lock (_gate)
        {
            due = _due;
        }

        if (due is null || longest <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await due.Task.WaitAsync(longest, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The pass did not come (it failed, or the change needed none): stop waiting for it.
            lock (_gate)
            {
                if (ReferenceEquals(_due, due))
                {
                    _due = null;
                }
            }

            due.TrySetResult();
        }
    }
}
