using System.Globalization;
using System.Text.RegularExpressions;
using Envoy.Admin.V3;
using Envoy.Service.Status.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace XdsControlPlane.Xds;

/// <summary>
/// Builds CSDS answers from the <see cref="ClientRegistry"/>: for each connected client (filtered by node id
/// matchers), every resource it was sent with the version sent, whether it ACKed or NACKed it, and the NACK text.
/// Secrets (SDS) are shown by name only.
/// </summary>
internal static class ClientStatusReport
{
    /// <summary>The longest node id pattern accepted.</summary>
    private const int MaxPatternLength = 1024;

    public static ClientStatusResponse Build(IReadOnlyList<ClientStatus> clients, ClientStatusRequest request)
    {
        var matchers = request.NodeMatchers;
        if (matchers.Any(m => m.NodeMetadatas.Count > 0))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "node_matchers[].node_metadatas is not supported; match on node_id"));
        }

        var regexes = matchers.Where(m => m.NodeId?.MatchPatternCase == StringMatcher.MatchPatternOneofCase.SafeRegex)
            .Select(m => m.NodeId.SafeRegex.Regex)
            .Distinct(StringComparer.Ordinal)
            .ToDictionary(pattern => pattern, Compile, StringComparer.Ordinal);
        var response = new ClientStatusResponse();
        foreach (var client in clients.Where(c => matchers.Count == 0 || matchers.Any(m => m.NodeId is null || Matches(m.NodeId, c.Node.Id, regexes))))
        {
            var config = new ClientConfig { Node = client.Node };
            foreach (var type in client.Types.Where(t => TypeUrls.IsKnown(t.TypeUrl)))
            {
                config.GenericXdsConfigs.Add(ResourcesOf(type, request.ExcludeResourceContents));
            }

            response.Config.Add(config);
        }

        return response;
    }

    /// <summary>A secret as CSDS shows it: its name only, never the key it carries (Envoy's config dump redacts it too).</summary>
    private static Any Redacted(string name) => Any.Pack(new Envoy.Extensions.TransportSockets.Tls.V3.Secret { Name = name });

    private static IEnumerable<ClientConfig.Types.GenericXdsConfig> ResourcesOf(TypeStatus type, bool excludeContents)
    {
        foreach (var name in type.Sent.Keys.Union(type.Acked.Keys).Order(StringComparer.Ordinal))
        {
            var sent = type.Sent.GetValueOrDefault(name);
            var acked = type.Acked.GetValueOrDefault(name);
            var current = sent ?? acked!;
            var entry = new ClientConfig.Types.GenericXdsConfig
            {
                TypeUrl = type.TypeUrl,
                Name = name,
                VersionInfo = current.Version,
                XdsConfig = excludeContents ? null : type.TypeUrl == TypeUrls.Secret ? Redacted(name) : current.Packed,
            };
            if (sent is not null && acked?.Version == sent.Version && type.AckedVersion == type.SentVersion)
            {
                (entry.ConfigStatus, entry.ClientStatus) = (ConfigStatus.Synced, ClientResourceStatus.Acked);
                entry.LastUpdated = type.AckedAt is { } at ? Timestamp.FromDateTimeOffset(at) : null;
            }
            else if (type.LastNack is { } nack && sent is not null)
            {
                (entry.ConfigStatus, entry.ClientStatus) = (ConfigStatus.Error, ClientResourceStatus.Nacked);
                entry.ErrorState = new UpdateFailureState
                {
                    Details = nack.Message,
                    VersionInfo = nack.Version ?? string.Empty,
                    LastUpdateAttempt = Timestamp.FromDateTimeOffset(nack.At),
                };
            }
            else
            {
                // Sent (or removed) but neither ACKed nor NACKed yet.
                (entry.ConfigStatus, entry.ClientStatus) = (ConfigStatus.Stale, ClientResourceStatus.Requested);
            }

            yield return entry;
        }
    }

    /// <summary>
    /// A node id pattern, compiled once per request. Non-backtracking (linear in the input, like RE2, which the field
    /// is specified as), so a hostile pattern cannot spend the server's CPU on every connected client.
    /// </summary>
    private static Regex Compile(string pattern)
    {
        if (pattern.Length > MaxPatternLength)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture, $"node_matchers[].node_id.safe_regex: must be at most {MaxPatternLength} characters, got {pattern.Length}")));
        }

        try
        {
            return new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"node_matchers[].node_id.safe_regex: not a usable regular expression: {ClientText.OneLine(e.Message, 256)}"));
        }
    }

    private static bool Matches(StringMatcher matcher, string value, Dictionary<string, Regex> regexes)
    {
        var comparison = matcher.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return matcher.MatchPatternCase switch
        {
            StringMatcher.MatchPatternOneofCase.Exact => string.Equals(value, matcher.Exact, comparison),
            StringMatcher.MatchPatternOneofCase.Prefix => value.StartsWith(matcher.Prefix, comparison),
            StringMatcher.MatchPatternOneofCase.Suffix => value.EndsWith(matcher.Suffix, comparison),
            StringMatcher.MatchPatternOneofCase.Contains => value.Contains(matcher.Contains, comparison),
            StringMatcher.MatchPatternOneofCase.SafeRegex => regexes[matcher.SafeRegex.Regex].IsMatch(value),
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"node_matchers[].node_id: match {matcher.MatchPatternCase} is not supported")),
        };
    }
}

/// <summary>CSDS: the sync state of every client connected to this replica.</summary>
internal sealed class ClientStatusDiscoveryServiceImpl(ClientRegistry registry) : ClientStatusDiscoveryService.ClientStatusDiscoveryServiceBase
{
    public override Task<ClientStatusResponse> FetchClientStatus(ClientStatusRequest request, ServerCallContext context) =>
        Task.FromResult(ClientStatusReport.Build(registry.Clients, request));

    public override async Task StreamClientStatus(IAsyncStreamReader<ClientStatusRequest> requestStream, IServerStreamWriter<ClientStatusResponse> responseStream, ServerCallContext context)
    {
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(ClientStatusReport.Build(registry.Clients, requestStream.Current), context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The client reset the stream (Kestrel fails the read before it cancels the call): it went away, nothing to log.
        }
    }
}
