using System.Globalization;

namespace XdsControlPlane.Server;

/// <summary>Settings of the admin listener and its endpoints (<see cref="ServerServiceCollectionExtensions.AddAdminEndpoints"/>), configuration section <c>Admin</c>.</summary>
public sealed class AdminEndpointOptions() : ListenerOptions(Section, DefaultPort)
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Admin";

    /// <summary>Default port of the admin HTTP listener.</summary>
    public const int DefaultPort = 19000;

    /// <summary>
    /// The bearer token that lets clients not on loopback read <c>/debug</c>; <see langword="null"/> serves
    /// <c>/debug</c> to loopback clients only. At least <see cref="ServerConfiguration.MinTokenLength"/> characters.
    /// </summary>
    public string? DebugToken { get; set; }

    /// <summary>How many <c>/debug</c> requests run at once; more are answered 429.</summary>
    public int DebugRequestLimit { get; set; } = DebugRequestGate.DefaultLimit;

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (DebugToken is { } token && token.Length < ServerConfiguration.MinTokenLength)
        {
            // Never echo the token.
            yield return string.Create(CultureInfo.InvariantCulture, $"DebugToken must have at least {ServerConfiguration.MinTokenLength} characters, got {token.Length}.");
        }

        if (DebugRequestLimit is < 1 or > 64)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"DebugRequestLimit must be between 1 and 64, got {DebugRequestLimit}.");
        }

        foreach (var problem in PortProblems())
        {
            yield return problem;
        }
    }
}
