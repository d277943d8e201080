using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace XdsControlPlane.Testing;

/// <summary>Which requests a fault of the fake API server hits.</summary>
internal enum ApiRequestKind
{
    /// <summary>A list (GET of a collection without <c>watch=true</c>).</summary>
    List,

    /// <summary>A watch (GET of a collection with <c>watch=true</c>).</summary>
    Watch,

    /// <summary>A PATCH of the status subresource.</summary>
    StatusWrite,
}

/// <summary>One request a fault hit: when, what, and how it was answered (the status code; 0 for a stall that then went on).</summary>
internal sealed record FaultedRequest(DateTimeOffset At, ApiRequestKind Kind, string Path, int StatusCode);

/// <summary>
/// Faults of an API server under load or restarting, injected per kind of request: the next N lists, watches or status
/// writes (of collections whose path contains a text) are answered with an error status (500, or 429 with
/// <c>Retry-After</c>), or stalled for a while before they are served. Every request a fault hit is recorded with its
/// time, so a test can tell how a client backed off.
/// </summary>
internal sealed partial class FakeApiServer
{
    private readonly List<Fault> _faults = [];
    private readonly List<FaultedRequest> _faulted = [];
    private readonly List<(DateTimeOffset At, ApiRequestKind Kind, string Path)> _kindRequests = [];

    /// <summary>The next <paramref name="times"/> requests of <paramref name="kind"/> whose path contains <paramref name="path"/> get <paramref name="statusCode"/> (with <c>Retry-After: retryAfterSeconds</c> when given).</summary>
    public void FailNext(ApiRequestKind kind, string path, int times, int statusCode, int? retryAfterSeconds = null)
    {
        lock (_gate)
        {
            _faults.Add(new Fault(kind, path, times, statusCode, retryAfterSeconds, TimeSpan.Zero));
        }
    }

    /// <summary>The next <paramref name="times"/> requests of <paramref name="kind"/> whose path contains <paramref name="path"/> wait <paramref name="stall"/> before they are served (an API server stalling).</summary>
    public void StallNext(ApiRequestKind kind, string path, int times, TimeSpan stall)
    {
        lock (_gate)
        {
            _faults.Add(new Fault(kind, path, times, 0, null, stall));
        }
    }

    /// <summary>Every request a fault hit, in order.</summary>
    public FaultedRequest[] Faulted()
    {
        lock (_gate)
        {
            return [.. _faulted];
        }
    }

    /// <summary>Every list, watch or status write so far (whether a fault hit it or not): when, which kind, which path.</summary>
    public (DateTimeOffset At, ApiRequestKind Kind, string Path)[] KindRequests()
    {
        lock (_gate)
        {
            return [.. _kindRequests];
        }
    }

    /// <summary>Answers or stalls <paramref name="context"/> when a fault hits it; true when the request was answered.</summary>
    private async Task<bool> InjectFaultAsync(HttpContext context)
    {
        var request = context.Request;
        ApiRequestKind? kind = request.Method switch
        {
            "GET" when request.Query["watch"] is ["true" or "1"] => ApiRequestKind.Watch,
            "GET" when IsCollection(request.Path.Value!) => ApiRequestKind.List,
            "PATCH" when request.Path.Value!.EndsWith("/status", StringComparison.Ordinal) => ApiRequestKind.StatusWrite,
            _ => null,
        };
        if (kind is not { } found)
        {
            return false;
        }

        var path = request.Path.Value!;
        Fault? fault;
        lock (_gate)
        {
            _kindRequests.Add((DateTimeOffset.UtcNow, found, path));
            fault = _faults.FirstOrDefault(f => f.Kind == found && f.Left > 0 && path.Contains(f.Path, StringComparison.Ordinal));
            if (fault is not null)
            {
                fault.Left--;
                _faulted.Add(new FaultedRequest(DateTimeOffset.UtcNow, found, path, fault.StatusCode));
            }
        }

        if (fault is null)
        {
            return false;
        }

        if (fault.StatusCode == 0)
        {
            await Task.Delay(fault.Stall, context.RequestAborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return context.RequestAborted.IsCancellationRequested;
        }

        if (fault.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        var reason = fault.StatusCode == 429 ? "TooManyRequests" : "InternalError";
        await WriteAsync(context, (fault.StatusCode, Status(fault.StatusCode, reason, $"the fake API server injects {fault.StatusCode} into {path}")));
        return true;
    }

    /// <summary>Whether <paramref name="path"/> names a collection (<c>/api/v1/services</c>, <c>/apis/g/v/namespaces/ns/plural</c>), not one object.</summary>
    private static bool IsCollection(string path)
    {
        var parts = path.Trim('/').Split('/');
        var skip = parts[0] == "api" ? 2 : 3;
        return parts.Length > skip && parts[skip..] is [_] or ["namespaces", _, _];
    }

    private sealed class Fault(ApiRequestKind kind, string path, int times, int statusCode, int? retryAfterSeconds, TimeSpan stall)
    {
        public ApiRequestKind Kind { get; } = kind;

        public string Path { get; } = path;

        public int Left { get; set; } = times;

        public int StatusCode { get; } = statusCode;

        public int? RetryAfterSeconds { get; } = retryAfterSeconds;

        public TimeSpan Stall { get; } = stall;
    }
}

/// <summary>Everything the fake API server holds and was sent, as text, for tests that search it.</summary>
internal sealed partial class FakeApiServer
{
    /// <summary>Every stored object of every kind but <paramref name="path"/>'s (and their history: objects since deleted), and every status patch sent, as JSON text.</summary>
    public string DumpExcept(string path)
    {
        lock (_gate)
        {
            var objects = _objects.Where(kind => kind.Key != path).SelectMany(kind => kind.Value.Values).Select(o => o.ToJsonString());
            var history = _history.Where(h => h.Path != path).Select(h => h.Object.ToJsonString());
            var patches = _statusPatches.Select(p => p.Body.ToJsonString());
            return string.Join("\n", objects.Concat(history).Concat(patches));
        }
    }
}
