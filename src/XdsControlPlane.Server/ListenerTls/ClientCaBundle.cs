using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// The CA certificates a listener's client certificates must chain to: from a PEM file (read again at the next
/// handshake after its modification time or size changed; a file that does not load keeps the previous bundle) or
/// from a Secret's <c>ca.crt</c> (<see cref="UsePem"/>). Validation builds the chain against these roots only, never
/// the system's.
/// </summary>
internal sealed class ClientCaBundle(string listener, string? file, ILogger logger)
{
    /// <summary>The most certificates a bundle may hold.</summary>
    public const int MaxCertificates = 100;

    private readonly Lock _gate = new();
    private volatile X509Certificate2Collection? _roots;
    private (DateTime Written, long Length)? _fileStamp;
    private string? _pem;
    private string? _lastProblem;

    /// <summary>The roots in force, reading the file again when it changed.</summary>
    public X509Certificate2Collection? Roots
    {
        get
        {
            if (file is not null)
            {
                ReloadFileIfChanged();
            }

            return _roots;
        }
    }

    /// <summary>Reads the file now; throws when it does not load (a bad bundle on start fails the start).</summary>
    /// <exception cref="InvalidOperationException">The file does not hold PEM CA certificates.</exception>
    public void LoadFile()
    {
        if (file is null)
        {
            return;
        }

        try
        {
            lock (_gate)
            {
                Load(File.ReadAllText(file), Stamp(file), file);
            }
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or FormatException)
        {
            throw new InvalidOperationException($"{listener} listener: the client CA file '{file}' must hold PEM CA certificates: {e.Message}", e);
        }
    }

    /// <summary>Uses <paramref name="pem"/> (a Secret's <c>ca.crt</c>) unless it is the bundle in force; a bad one keeps the previous bundle and is logged once.</summary>
    public void UsePem(string pem, string source)
    {
        lock (_gate)
        {
            if (pem == _pem)
            {
                return;
            }

            try
            {
                Load(pem, null, source);
            }
            catch (Exception e) when (e is CryptographicException or FormatException)
            {
                Rejected(source, e.Message);
            }
        }
    }

    /// <summary>Whether <paramref name="certificate"/> chains to the bundle (with <paramref name="presented"/>, the intermediates the client sent); <paramref name="problem"/> says why not.</summary>
    public bool Trusts(X509Certificate2 certificate, X509Chain? presented, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (Roots is not { Count: > 0 } roots)
        {
            problem = "no client CA bundle is loaded";
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (chain.Build(certificate))
        {
            problem = null;
            return true;
        }

        problem = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).Take(3));
        return false;
    }

    private void ReloadFileIfChanged()
    {
        var stamp = Stamp(file!);
        if (stamp == _fileStamp)
        {
            return;
        }

        lock (_gate)
        {
            if (stamp == _fileStamp)
            {
                return;
            }

            try
            {
                Load(File.ReadAllText(file!), stamp, file!);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or FormatException)
            {
                _fileStamp = stamp; // read again when it changes again
                Rejected(file!, e.Message);
            }
        }
    }

    private void Load(string pem, (DateTime, long)? stamp, string source)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(pem);
        if (roots.Count is 0 or > MaxCertificates)
        {
            throw new FormatException($"it holds {roots.Count} certificates, 1 to {MaxCertificates} are accepted");
        }

        _roots = roots;
        _pem = pem;
        _fileStamp = stamp;
        _lastProblem = null;
        ListenerTlsLog.ClientCaLoaded(logger, listener, source, roots.Count);
    }

    private void Rejected(string source, string problem)
    {
        if (problem != _lastProblem)
        {
            _lastProblem = problem;
            ListenerTlsLog.ClientCaRejected(logger, listener, source, problem);
        }
    }

    private static (DateTime Written, long Length)? Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : null;
    }
}
