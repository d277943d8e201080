using System.Globalization;

namespace XdsControlPlane.Server;

/// <summary>
/// What every Kestrel listener of the server has: a port (0 picks a free one). A listener's options class derives from
/// it, is bound from its own configuration section and validated on start (<see cref="ServerHost"/>),
/// so a new listener costs one options class.
/// </summary>
public abstract class ListenerOptions
{
    private readonly string _section;

    /// <summary>Sets the listener's configuration section (named in problems) and its documented default port.</summary>
    protected ListenerOptions(string section, int defaultPort)
    {
        _section = section;
        Port = defaultPort;
    }

    /// <summary>The port to listen on; 0 picks a free port.</summary>
    public int Port { get; set; }

    /// <summary>The problems with the port; empty when valid.</summary>
    public IEnumerable<string> PortProblems()
    {
        if (Port is < 0 or > 65535)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{_section}:Port must be between 0 and 65535, got {Port}.");
        }
    }
}
