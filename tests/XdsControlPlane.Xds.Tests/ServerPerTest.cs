namespace XdsControlPlane.Xds.Tests;

/// <summary>Test classes that each test runs against a fresh xDS server on loopback (<see cref="Server"/>), stopped after it.</summary>
public abstract class ServerPerTest
{
    private XdsTestServer? _server;

    /// <summary>This test's server.</summary>
    internal XdsTestServer Server => _server ?? throw new InvalidOperationException("the server starts in [SetUp]");

    [SetUp]
    public async Task StartServer() => _server = await XdsTestServer.StartAsync();

    [TearDown]
    public async Task StopServer()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
