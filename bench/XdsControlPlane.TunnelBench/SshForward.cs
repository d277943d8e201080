using System.Globalization;
using System.Net;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// The baseline developers already use: <c>ssh -L</c> through Debian's openssh-server. A private sshd on a loopback port
/// with a host key and an authorized key made for this run (in a temporary directory), and one <c>ssh -N -L</c>
/// forwarding a local port to the laptop's bulk service, encrypted as ssh always is.
/// </summary>
internal sealed class SshForward : IDisposable
{
    private readonly ExternalProcess _sshd;
    private readonly ExternalProcess _ssh;
    private readonly string _directory;

    private SshForward(ExternalProcess sshd, ExternalProcess ssh, string directory, IPEndPoint endPoint)
    {
        _sshd = sshd;
        _ssh = ssh;
        _directory = directory;
        EndPoint = endPoint;
    }

    /// <summary>Where the forward listens: connections there reach the target through ssh.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Why ssh cannot be measured here (no sshd or ssh installed), else null.</summary>
    public static string? Missing =>
        ExternalProcess.Find("/usr/sbin/sshd") is null || ExternalProcess.Find("ssh") is null || ExternalProcess.Find("ssh-keygen") is null
            ? "openssh-server is not installed (apt-get install -y openssh-server)"
            : null;

    /// <summary>Starts sshd on <paramref name="sshPort"/> and <c>ssh -L</c> from <paramref name="localPort"/> to <paramref name="target"/>.</summary>
    public static async Task<SshForward> StartAsync(int sshPort, int localPort, IPEndPoint target, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("tunnel-bench-ssh-").FullName;
        var hostKey = Path.Combine(directory, "host_key");
        var clientKey = Path.Combine(directory, "client_key");
        await ExternalProcess.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey], cancellationToken);
        await ExternalProcess.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", clientKey], cancellationToken);
        File.Copy(clientKey + ".pub", Path.Combine(directory, "authorized_keys"));
        var config = Path.Combine(directory, "sshd_config");
        var port = sshPort.ToString(CultureInfo.InvariantCulture);
        await File.WriteAllTextAsync(config, $"""
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {hostKey}
            AuthorizedKeysFile {Path.Combine(directory, "authorized_keys")}
            PidFile none
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            PermitRootLogin prohibit-password
            AllowTcpForwarding yes

            """, cancellationToken);
        Directory.CreateDirectory("/run/sshd");
        var sshd = ExternalProcess.Start("/usr/sbin/sshd", "-D", "-e", "-f", config);
        await Ports.WaitAcceptingAsync(new IPEndPoint(IPAddress.Loopback, sshPort), () => sshd.Exit, cancellationToken);
        var ssh = ExternalProcess.Start(
            "ssh", "-N", "-p", port, "-i", clientKey,
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes",
            "-L", $"127.0.0.1:{localPort.ToString(CultureInfo.InvariantCulture)}:{target.Address}:{target.Port.ToString(CultureInfo.InvariantCulture)}",
            $"{Environment.UserName}@127.0.0.1");
        var endPoint = new IPEndPoint(IPAddress.Loopback, localPort);
        await Ports.WaitAcceptingAsync(endPoint, () => ssh.Exit, cancellationToken);
        return new SshForward(sshd, ssh, directory, endPoint);
    }

    public void Dispose()
    {
        _ssh.Dispose();
        _sshd.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
