using Envoy.Config.Cluster.V3;
using Google.Protobuf.WellKnownTypes;

namespace XdsControlPlane.Server.Tests;

/// <summary>The smallest snapshot a host test serves: one static cluster named <c>static</c>.</summary>
internal static class StaticSnapshot
{
    /// <summary>A static cluster with a 1 s connect timeout.</summary>
    public static Cluster StaticCluster() => new() { Name = "static", Type = Cluster.Types.DiscoveryType.Static, ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };

    /// <summary>Publishes the one-cluster snapshot for <paramref name="group"/> on <paramref name="host"/>.</summary>
    public static void PublishTo(ServerHost host, string group) =>
        host.Snapshots.SetSnapshot(group, Snapshot.Create([XdsResource.Create(StaticCluster())]));
}
