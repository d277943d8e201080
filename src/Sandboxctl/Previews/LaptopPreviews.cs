using Sandboxctl.Local;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// A laptop's previews in manifests mode, where its LocalWorkload lives only in the tunnel broker's memory: the
/// previews the broker's Welcome named to the <c>local connect</c> agent running on this machine for this user (its
/// state file, <see cref="AgentState.Previews"/>), with the URLs the broker gave — the server's word, as a status would
/// be in a cluster. The file is read as any input: only a running manifests-mode agent counts, at most
/// <see cref="ModelLimits.MaxPreviews"/> entries, each with a port in range, a known access level and an http(s) URL.
/// </summary>
internal static class LaptopPreviews
{
    /// <summary>The previews of LocalWorkload <paramref name="owner"/>; refuses, saying why and what to do, when no agent of it runs here.</summary>
    public static IReadOnlyList<PreviewEntry> Of(PreviewOwner owner, AgentStateStore agents)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(agents);
        var state = Running(agents).FirstOrDefault(s => s.Namespace == owner.Namespace && s.Name == owner.Name)
            ?? throw new CliException(
                $"with --manifests, LocalWorkloads live in the tunnel broker's memory, so {owner} is read from its `sandboxctl local connect` agent on this machine, and none runs here for it (agents' state in {agents.Directory}).",
                $"Run this command as the user and on the machine that runs `sandboxctl local connect --name {owner.Name} -n {owner.Namespace} --preview PORT:shared`, while it is connected; or write a PreviewGrant file with spec.localWorkload: {owner.Name} into the manifests directory (docs/preview-access.md).",
                ExitCodes.UserError);
        return EntriesOf(owner, state);
    }

    /// <summary>The previews of every LocalWorkload of <paramref name="ns"/> whose manifests-mode agent runs here.</summary>
    public static IEnumerable<PreviewEntry> All(string ns, AgentStateStore agents)
    {
        ArgumentNullException.ThrowIfNull(agents);
        return Running(agents).Where(s => s.Namespace == ns).SelectMany(s => EntriesOf(new PreviewOwner(LocalWorkload.KindName, s.Namespace, s.Name), s));
    }

    /// <summary>The entries a state file records for <paramref name="owner"/>; malformed ones are left out. Pure.</summary>
    public static IReadOnlyList<PreviewEntry> EntriesOf(PreviewOwner owner, AgentState state)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(state);
        if (!SchemaPatterns.IsServiceReference(state.Service))
        {
            return [];
        }

        return [.. (state.Previews ?? [])
            .Take(ModelLimits.MaxPreviews)
            .Where(p => p is not null && p.Port is >= 1 and <= 65535 && p.Access is Preview.Public or Preview.Shared or Preview.Personal)
            .DistinctBy(p => p.Port)
            .Select(p => new PreviewEntry(owner, state.Service, p.Port, p.Access, p.Url is { } url && PreviewEntry.IsHttpUrl(url) ? url : null))];
    }

    private static IEnumerable<AgentState> Running(AgentStateStore agents) =>
        agents.ReadAll().Where(s => s.Mode == "manifests" && AgentStateStore.IsRunning(s));
}
