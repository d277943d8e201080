using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// The server's runtime seen through one EventPipe session over its diagnostics socket (what <c>dotnet-counters</c> and
/// <c>dotnet-trace</c> use; no tool needs to be installed): the runtime's GC events, so every gen2 collection gives the
/// managed heap it left, the live objects it kept, the large-object heap and the GC handles; its handle events, counted
/// by kind (<see cref="GcHandleLedger"/>); and the
/// <c>System.Runtime</c> event counters every <c>interval</c> (active timers, committed GC memory, gen2 collections).
/// The events are read on a thread of their own until <see cref="DisposeAsync"/>.
/// </summary>
internal sealed class RuntimeTrace : IAsyncDisposable
{
    private const long GcKeyword = 0x1;
    private const long GcHandleKeyword = 0x2;
    private readonly Lock _lock = new();
    private readonly List<Gen2Collection> _gen2 = [];
    private readonly Dictionary<string, double> _counters = new(StringComparer.Ordinal);
    private readonly EventPipeSession _session;
    private readonly Task _reader;
    private int _lastDepth = -1;

    private RuntimeTrace(EventPipeSession session)
    {
        _session = session;
        var source = new EventPipeEventSource(session.EventStream);
        source.Clr.GCStop += OnStop;
        source.Clr.GCHeapStats += OnHeapStats;
        source.Clr.GCSetGCHandle += data => Handles.Set(data.HandleID, data.Kind.ToString());
        source.Clr.GCDestoryGCHandle += data => Handles.Destroyed(data.HandleID);
        source.Dynamic.All += OnDynamic;
        _reader = Task.Factory.StartNew(() => source.Process(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Starts a session on process <paramref name="processId"/>, with event counters every <paramref name="interval"/>.</summary>
    public static RuntimeTrace Start(int processId, TimeSpan interval)
    {
        var seconds = ((int)Math.Max(1, interval.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        EventPipeProvider[] providers =
        [
            new("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcKeyword | GcHandleKeyword),
            new("System.Runtime", EventLevel.Informational, 0, new Dictionary<string, string> { ["EventCounterIntervalSec"] = seconds }),
        ];
        return new RuntimeTrace(new DiagnosticsClient(processId).StartEventPipeSession(providers, requestRundown: false));
    }

    /// <summary>The GC handles created and freed since the trace started, by kind.</summary>
    public GcHandleLedger Handles { get; } = new();

    /// <summary>The gen2 collections seen so far, oldest first.</summary>
    public IReadOnlyList<Gen2Collection> Gen2Collections
    {
        get
        {
            lock (_lock)
            {
                return [.. _gen2];
            }
        }
    }

    /// <summary>The latest value of the <c>System.Runtime</c> counter <paramref name="name"/> (its mean, or its increment summed over the session), if it came.</summary>
    public double? Counter(string name)
    {
        lock (_lock)
        {
            return _counters.TryGetValue(name, out var value) ? value : null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _session.StopAsync(CancellationToken.None);
        }
        catch (ServerNotAvailableException)
        {
            // the server has ended: its stream ends too
        }

        await _reader;
        _session.Dispose();
    }

    private void OnStop(GCEndTraceData data) => _lastDepth = data.Depth;

    private void OnHeapStats(GCHeapStatsTraceData data)
    {
        // Each GC's heap statistics follow its end event: a gen2's are the heap it left.
        if (_lastDepth != 2)
        {
            return;
        }

        _lastDepth = -1;
        var total = data.GenerationSize0 + data.GenerationSize1 + data.GenerationSize2 + data.GenerationSize3 + data.GenerationSize4;
        var promoted = data.TotalPromotedSize0 + data.TotalPromotedSize1 + data.TotalPromotedSize2 + data.TotalPromotedSize3 + data.TotalPromotedSize4;
        lock (_lock)
        {
            _gen2.Add(new Gen2Collection(data.TimeStamp.ToUniversalTime(), Mib(total), Mib(promoted), Mib(data.GenerationSize3), data.GCHandleCount));
        }
    }

    private void OnDynamic(TraceEvent data)
    {
        if (data.EventName != "EventCounters" || data.PayloadValue(0) is not IDictionary<string, object> outer || outer["Payload"] is not IDictionary<string, object> fields)
        {
            return;
        }

        var name = (string)fields["Name"];
        lock (_lock)
        {
            if (fields.TryGetValue("Increment", out var increment))
            {
                _counters[name] = _counters.GetValueOrDefault(name) + Convert.ToDouble(increment, System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (fields.TryGetValue("Mean", out var mean))
            {
                _counters[name] = Convert.ToDouble(mean, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    private static double Mib(double bytes) => bytes / (1024.0 * 1024.0);
}

/// <summary>
/// One gen2 collection of the server: when it ended (UTC); the managed heap it left (the generations' sizes,
/// with the free space between objects), the live objects in it (what the collection kept), and the large-object heap's
/// part (MiB); and the GC handles then.
/// </summary>
internal sealed record Gen2Collection(DateTime At, double HeapMib, double LiveMib, double LargeObjectsMib, long Handles);
