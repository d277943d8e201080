using System.Net;

namespace XdsControlPlane.Server;

/// <summary>
/// The address of a listener whose connections carry bulk traffic (the tunnel broker's): the transport binds it as any
/// <see cref="IPEndPoint"/>, and <see cref="BulkListenerFactory"/> gives its connections <see cref="BulkMemoryPool"/>.
/// </summary>
internal sealed class BulkEndPoint(IPAddress address, int port) : IPEndPoint(address, port);
