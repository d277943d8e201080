using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// Where <c>sandboxctl preview</c> finds previews and keeps grants: the cluster (<see cref="ClusterPreviewStore"/>,
/// with the caller's kubeconfig credentials) or a manifests directory (<see cref="ManifestsPreviewStore"/>). Failures
/// are <see cref="CliException"/>s that name the object and the reason.
/// </summary>
internal interface IPreviewStore
{
    /// <summary>The namespace of the owners and grants.</summary>
    string Namespace { get; }

    /// <summary>The previews of <paramref name="owner"/>; exits 1 when it does not exist.</summary>
    Task<IReadOnlyList<PreviewEntry>> PreviewsOfAsync(PreviewOwner owner, CancellationToken cancellationToken);

    /// <summary>The previews of every Sandbox and LocalWorkload of the namespace.</summary>
    Task<IReadOnlyList<PreviewEntry>> AllPreviewsAsync(CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="grant"/> under a generated name (<see cref="PreviewGrantMint.GenerateName"/>) and returns the name.</summary>
    Task<string> CreateGrantAsync(PreviewGrant grant, CancellationToken cancellationToken);

    /// <summary>The grants of the namespace.</summary>
    Task<IReadOnlyList<GrantView>> GrantsAsync(CancellationToken cancellationToken);

    /// <summary>Deletes the grant <paramref name="name"/>; exits 1 when it does not exist.</summary>
    Task DeleteGrantAsync(string name, CancellationToken cancellationToken);
}
