using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace XdsControlPlane.Xds.Tests;

/// <summary>Registering and mapping the xDS server.</summary>
public sealed class XdsServerExtensionsTests
{
    [Test]
    public async Task MapXdsServices_NoNodeGroupResolverRegistered_ThrowsNamingTheSeam()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddXdsServer();
        await using var app = builder.Build();

        Assert.That(() => app.MapXdsServices(), Throws.InvalidOperationException.With.Message.Contains(nameof(INodeGroupResolver)));
    }
}
