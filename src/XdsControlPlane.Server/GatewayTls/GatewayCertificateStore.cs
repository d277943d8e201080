using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.GatewayTls;

/// <summary>
/// The gateway's HTTPS certificate in force, as the SDS secret (<see cref="GatewayTlsSecret"/>) the snapshot publisher
/// adds to the gateway group. Written by one certificate source (files or a Kubernetes Secret); each new certificate
/// tells the subscribers (<see cref="Subscribe"/>), which re-publish the gateway group: only the secret changes, so a
/// rotation reaches SDS subscribers without a listener update. Logs what it takes in, never the key.
/// </summary>
internal sealed class GatewayCertificateStore(TimeProvider time, ILogger<GatewayCertificateStore> logger)
{
    private readonly Lock _gate = new();
    private volatile XdsResource? _secret;
    private string? _warnedFor;
    private Action[] _changed = [];
    private long _offered;

    /// <summary>The secret gateways load, or null before a certificate was loaded.</summary>
    public XdsResource? Secret => _secret;

    /// <summary>The certificate in force, or null.</summary>
    public GatewayCertificate? Certificate { get; private set; }

    /// <summary>How many certificates the source has offered so far (<see cref="Use"/>), new or the one in force: each read of the files or the Secret that parsed.</summary>
    public long Offered => Interlocked.Read(ref _offered);

    /// <summary>Calls <paramref name="changed"/> after every new certificate (on the writer's thread; it must not block for long).</summary>
    public void Subscribe(Action changed)
    {
        lock (_gate)
        {
            _changed = [.. _changed, changed];
        }
    }

    /// <summary>
    /// Puts <paramref name="certificate"/> from <paramref name="source"/> in force, unless it is the one in force; says
    /// once per certificate when it is expired or not yet valid (it is served all the same: nothing better is at hand).
    /// Returns whether it changed.
    /// </summary>
    public bool Use(GatewayCertificate certificate, string source)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var secret = GatewayTlsSecret.Create(certificate);
        Action[] subscribers;
        lock (_gate)
        {
            if (certificate.ValidityProblem(time.GetUtcNow()) is { } problem && _warnedFor != certificate.Fingerprint)
            {
                _warnedFor = certificate.Fingerprint;
                var invalid = certificate.ToString();
                GatewayTlsLog.CertificateNotValidNow(logger, source, problem, invalid);
            }

            // Counted once it is judged (warned of or not): a reader that sees the count move sees that judgement made.
            Interlocked.Increment(ref _offered);
            if (_secret?.Version == secret.Version)
            {
                return false;
            }

            _secret = secret;
            Certificate = certificate;
            subscribers = _changed;
        }

        var described = certificate.ToString();
        GatewayTlsLog.CertificateLoaded(logger, source, described, GatewayTlsSecret.Name);
        foreach (var changed in subscribers)
        {
            changed();
        }

        return true;
    }

    /// <summary>What a rejection leaves in force, for the log.</summary>
    public string KeptText => Certificate is { } kept ? $"the certificate in use stays ({kept})" : "gateways serve plain HTTP until a good one comes";
}
