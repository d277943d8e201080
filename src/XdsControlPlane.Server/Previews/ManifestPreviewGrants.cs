using XdsControlPlane.Model;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Server.Previews;

/// <summary>
/// Manifests mode: the PreviewGrants of the manifest directory. They travel with the other objects through the source
/// pipeline's last-good set (read, validated, a broken edit keeping the last good version), which does not count them
/// as a change of what translation reads, so nothing is translated or published for them; this observer copies the
/// grants in force after each pass into the <see cref="PreviewGrantStore"/>. A hosted service only so it is built with
/// the host, before any pass runs (it observes the pipeline from its construction on); it starts nothing.
/// </summary>
internal sealed class ManifestPreviewGrants : IPublicationObserver, IHostedService
{
    private readonly PreviewGrantStore _store;

    public ManifestPreviewGrants(PreviewGrantStore store, SourcePipeline pipeline)
    {
        _store = store;
        pipeline.Observe(this);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public void Applied(Publication publication)
    {
        ArgumentNullException.ThrowIfNull(publication);
        var inForce = publication.Result.InForce;
        if (publication.First)
        {
            _store.Replace(inForce.Values.Select(o => o.Resource).OfType<PreviewGrant>());
            return;
        }

        foreach (var key in publication.Result.Changed.Where(k => k.Kind == PreviewGrant.KindName))
        {
            if (inForce.TryGetValue(key, out var obj) && obj.Resource is PreviewGrant grant)
            {
                _store.Put(grant);
            }
            else
            {
                _store.Remove(key.Namespace, key.Name);
            }
        }
    }
}
