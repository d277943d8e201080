using XdsControlPlane.Server.GatewayTls;

namespace XdsControlPlane.Server.Tests;

/// <summary>The gateway certificate's settings (section <c>GatewayTls</c>): every problem named with its key and flag.</summary>
public sealed class GatewayTlsOptionsTests
{
    [TestCase("edge/preview-tls", null, null, true, null)]
    [TestCase(null, "cert", "key", false, null)]
    [TestCase(null, "cert", null, false, "go together")]
    [TestCase("edge/preview-tls", null, null, false, "applies with --kubernetes only")]
    [TestCase("preview-tls", null, null, true, "must be NAMESPACE/NAME")]
    [TestCase("Edge/preview-tls", null, null, true, "must be NAMESPACE/NAME")]
    [TestCase("edge/preview-tls", "cert", "key", true, "alternative certificate sources")]
    public void Validate_NamesTheProblem(string? secret, string? cert, string? key, bool kubernetes, string? expected)
    {
        var file = Path.GetTempFileName();
        try
        {
            var options = new GatewayTlsOptions { Secret = secret, CertFile = cert is null ? null : file, KeyFile = key is null ? null : file };

            var problems = options.Validate(kubernetes).ToArray();

            Assert.That(problems, expected is null ? Is.Empty : Has.Some.Contains(expected));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Validate_MissingFile_IsNamed() =>
        Assert.That(new GatewayTlsOptions { CertFile = "/nonexistent/tls.crt", KeyFile = "/nonexistent/tls.key" }.Validate(false), Has.Some.EqualTo("GatewayTls:CertFile must be an existing file, got '/nonexistent/tls.crt'."));
}
