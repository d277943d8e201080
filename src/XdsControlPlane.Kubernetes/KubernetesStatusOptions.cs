namespace XdsControlPlane.Kubernetes;

/// <summary>Timing and scope of the status writer.</summary>
public sealed record KubernetesStatusOptions
{
    /// <summary>
    /// The safety resync of <c>Programmed</c>: how often it is re-checked while data planes have not ACKed yet, in case
    /// a wake-up was missed. <see cref="KubernetesStatusService.AcksChanged"/> (an ACK, a NACK, a closed stream, another
    /// replica's news) re-checks it at once; <see cref="Timeout.InfiniteTimeSpan"/> leaves only those.
    /// </summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often LocalWorkload heartbeats are aged into phases (they change with time alone) and, after this replica became leader, status is caught up.</summary>
    public TimeSpan PhaseInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The field manager of the status writes.</summary>
    public string FieldManager { get; init; } = FieldManagers.ControlPlane;

    /// <summary>The namespaces whose objects are judged; empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>
    /// Status writes per second at most, on average (a client-side token bucket like client-go's QPS; writes judged
    /// unnecessary take none). 50 by default: 10,000 first statuses take 200 s, a single one goes at once.
    /// </summary>
    public double StatusQps { get; init; } = 50;

    /// <summary>Status writes at most in a burst, before <see cref="StatusQps"/> applies (client-go's burst).</summary>
    public int StatusBurst { get; init; } = 100;

    /// <summary>Status writes in flight at most (the workers of the status queue).</summary>
    public int StatusConcurrency { get; init; } = 4;

    /// <summary>
    /// The longest a status write waits for the pipeline to publish a change of what translation reads (an
    /// EndpointSlice, a RouteGroup) that is due: status is lower priority than publication.
    /// </summary>
    public TimeSpan PublicationYield { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The server's <c>--preview-domain</c>, for the URLs in a LocalWorkload's <c>status.previews</c>; empty: previews are off.</summary>
    public string PreviewDomain { get; init; } = "";

    /// <summary>The server's <c>--preview-salt</c>, which the preview host names hash.</summary>
    public string PreviewSalt { get; init; } = "";

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (!(StatusQps is > 0 and <= 10_000))
        {
            yield return $"StatusQps must be more than 0 and at most 10000 status writes per second, got {StatusQps}.";
        }

        if (StatusBurst is < 1 or > 100_000)
        {
            yield return $"StatusBurst must be from 1 to 100000 status writes, got {StatusBurst}.";
        }

        if (StatusConcurrency is < 1 or > 64)
        {
            yield return $"StatusConcurrency must be from 1 to 64 status writes in flight, got {StatusConcurrency}.";
        }
    }
}
