using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// One named xDS resource, serialized once: every stream that sends it shares <see cref="Packed"/>. Its
/// <see cref="Version"/> is derived from its bytes, so identical input gives identical versions on every replica.
/// </summary>
public sealed class XdsResource
{
    private readonly IMessage? _message;
    private Envoy.Service.Discovery.V3.Resource? _deltaResource;
    private ulong _identityHash;

    private XdsResource(string name, string typeUrl, IMessage? message, Any packed, string version, ResourceReferences references, RouteConfigurationParts? parts = null) =>
        (Name, TypeUrl, _message, Packed, Version, References, Parts) = (name, typeUrl, message, packed, version, references, parts);

    /// <summary>The resource name (listener, route configuration, cluster, EDS service or secret name).</summary>
    public string Name { get; }

    /// <summary>The xDS type URL (<see cref="TypeUrls"/>).</summary>
    public string TypeUrl { get; }

    /// <summary>
    /// The resource itself. Treat as read-only: it is shared. A route configuration assembled from its virtual hosts'
    /// bytes (<see cref="CreateRouteConfiguration"/>) keeps no message: each read parses <see cref="Packed"/> anew, so
    /// read it off the hot path only (debug output, tests) and validate it through <see cref="Parts"/>.
    /// </summary>
    public IMessage Message => _message ?? XdsResourceTypes.Find(TypeUrl)!.Parser.ParseFrom(Packed.Value);

    /// <summary>The parts a route configuration was assembled from (<see cref="CreateRouteConfiguration"/>); null for any other resource.</summary>
    public RouteConfigurationParts? Parts { get; }

    /// <summary>The resource packed into <c>Any</c>, serialized once and shared by every response.</summary>
    public Any Packed { get; }

    /// <summary>Content-derived version: the first 16 hex digits of the SHA-256 of the serialized resource.</summary>
    public string Version { get; }

    /// <summary>The names of other resources this one refers to (clusters, route configurations, EDS services).</summary>
    public ResourceReferences References { get; }

    /// <summary>The resource as a Delta response carries it (name, version, packed), built once and shared like <see cref="Packed"/>. Treat as read-only: it is shared.</summary>
    public Envoy.Service.Discovery.V3.Resource DeltaResource =>
        _deltaResource ??= new Envoy.Service.Discovery.V3.Resource { Name = Name, Version = Version, Resource_ = Packed };

    /// <summary>
    /// A 64-bit hash of the type, name and version, computed once: the term this resource adds to the version of every
    /// snapshot and selection that holds it (<see cref="Snapshot"/> sums them, so a change costs its own terms).
    /// </summary>
    internal ulong IdentityHash
    {
        get
        {
            if (_identityHash == 0)
            {
                var text = Encoding.UTF8.GetBytes($"{TypeUrl}\n{Name}\n{Version}");
                var hash = BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(text));
                _identityHash = hash == 0 ? 1 : hash;
            }

            return _identityHash;
        }
    }

    /// <summary>Wraps a message of a type in <see cref="XdsResourceTypes"/>: Listener, ScopedRouteConfiguration, RouteConfiguration, Cluster, ClusterLoadAssignment or Secret.</summary>
    /// <exception cref="ArgumentException">The message is not one of those types, or has no name.</exception>
    public static XdsResource Create(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (name, typeUrl) = NameAndType(message);
        var packed = new Any { TypeUrl = typeUrl, Value = message.ToByteString() }; // as Any.Pack, without reading the descriptor
        var hash = SHA256.HashData(packed.Value.Span);
        var version = Convert.ToHexStringLower(hash, 0, 8);
        return new XdsResource(name, typeUrl, message, packed, version, ResourceReferences.Of(message));
    }

    private static (string Name, string TypeUrl) NameAndType(IMessage message)
    {
        var type = XdsResourceTypes.Find(message)
            ?? throw new ArgumentException($"{message.Descriptor.FullName} is not an xDS resource type this server distributes.", nameof(message));
        var name = type.NameOf(message);
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException($"{message.Descriptor.FullName} has no name; xDS resources must be named.", nameof(message));
        }

        return (name, type.TypeUrl);
    }

    /// <summary>
    /// Wraps a resource whose serialization the caller assembled from cached parts (a route configuration built from
    /// unchanged virtual hosts), so a change costs the changed parts rather than the whole resource.
    /// <paramref name="serialized"/> must be exactly <paramref name="message"/>'s serialization and
    /// <paramref name="version"/> must be derived from its content alone (equal content, equal version, on every replica).
    /// </summary>
    /// <param name="message">The resource; its name and type are read from it.</param>
    /// <param name="serialized">The protobuf serialization of <paramref name="message"/>, as <see cref="Packed"/> carries it.</param>
    /// <param name="version">The content-derived version.</param>
    /// <param name="references">The names <paramref name="message"/> refers to (see <see cref="ResourceReferences.Of"/>).</param>
    /// <exception cref="ArgumentException">The message is not a distributed type, or has no name.</exception>
    public static XdsResource CreateAssembled(IMessage message, ByteString serialized, string version, ResourceReferences references)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(serialized);
        ArgumentException.ThrowIfNullOrEmpty(version);
        ArgumentNullException.ThrowIfNull(references);
        var (name, typeUrl) = NameAndType(message);
        var packed = new Any { TypeUrl = typeUrl, Value = serialized };
        return new XdsResource(name, typeUrl, message, packed, version, references);
    }

    /// <summary>
    /// A route configuration named <paramref name="name"/> of <paramref name="virtualHosts"/>, serialized by copying each
    /// host's own serialization instead of serializing a whole message, so a large route configuration whose hosts are
    /// cached costs a copy of their bytes. Protobuf writes the name, then the virtual hosts in order, so the bytes equal a
    /// fresh serialization of the message. No message is kept (<see cref="Message"/> parses the bytes when read): the
    /// caller keeps the hosts' bytes only, which is most of the server's memory at thousands of RouteGroups.
    /// </summary>
    /// <param name="name">The route configuration name.</param>
    /// <param name="virtualHosts">The virtual hosts' serializations (<c>host.ToByteString()</c>), in order. Shared, not copied.</param>
    /// <param name="version">
    /// The version, derived from the content alone (for example a hash of the name and of each host's bytes) so that
    /// identical content gives identical versions on every replica; null for the version <see cref="Create"/> gives.
    /// </param>
    /// <param name="references">The clusters the hosts route to (what <see cref="ResourceReferences.Of"/> reads from the message).</param>
    /// <exception cref="ArgumentException">The name or the version is empty.</exception>
    public static XdsResource CreateRouteConfiguration(string name, IReadOnlyList<ByteString> virtualHosts, string? version, ResourceReferences references)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(virtualHosts);
        ArgumentNullException.ThrowIfNull(references);
        if (version is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(version);
        }

        var size = CodedOutputStream.ComputeTagSize(RouteConfiguration.NameFieldNumber) + CodedOutputStream.ComputeStringSize(name);
        foreach (var serialized in virtualHosts)
        {
            size += CodedOutputStream.ComputeTagSize(RouteConfiguration.VirtualHostsFieldNumber) + CodedOutputStream.ComputeBytesSize(serialized);
        }

        // Every byte is written below: no need to zero a buffer that can be megabytes.
        var buffer = GC.AllocateUninitializedArray<byte>(size);
        var output = new CodedOutputStream(buffer);
        output.WriteTag(RouteConfiguration.NameFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString(name);
        foreach (var serialized in virtualHosts)
        {
            output.WriteTag(RouteConfiguration.VirtualHostsFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(serialized);
        }

        output.CheckNoSpaceLeft();
        var packed = new Any { TypeUrl = TypeUrls.RouteConfiguration, Value = UnsafeByteOperations.UnsafeWrap(buffer) };
        version ??= Convert.ToHexStringLower(SHA256.HashData(buffer), 0, 8);
        var parts = new RouteConfigurationParts(new RouteConfiguration { Name = name }, [.. virtualHosts]);
        return new XdsResource(name, TypeUrls.RouteConfiguration, null, packed, version, references, parts);
    }

    /// <inheritdoc />
    public override string ToString() => $"{TypeUrls.ShortName(TypeUrl)} {Name}@{Version}";
}
