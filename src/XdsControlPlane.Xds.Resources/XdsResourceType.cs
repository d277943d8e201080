using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// One xDS resource type this server distributes, everything that differs by type in one entry of
/// <see cref="XdsResourceTypes"/>: its type URL, how a resource's name and references are read, which names of other
/// types it refers to, its place in the push order, and how State-of-the-World clients treat it.
/// </summary>
public sealed class XdsResourceType
{
    private readonly Func<IMessage, string> _name;
    private readonly Func<IMessage, ResourceReferences> _references;
    private readonly Lazy<MessageDescriptor> _descriptor;

    private XdsResourceType(string typeUrl, Type clrType, MessageParser parser, Func<MessageDescriptor> descriptor, string shortName, Func<IMessage, string> name, Func<IMessage, ResourceReferences> references)
    {
        (TypeUrl, ClrType, Parser, ShortName, _name, _references) = (typeUrl, clrType, parser, shortName, name, references);
        _descriptor = new(descriptor);
    }

    /// <summary>
    /// The message type, e.g. <c>envoy.config.listener.v3.Listener</c>. Reading it builds the descriptors of the type's
    /// proto file and of everything it imports (Google.Protobuf's reflection), which nothing on the way from manifests to
    /// resources needs: the table itself uses <see cref="TypeUrl"/>, <see cref="ClrType"/> and <see cref="Parser"/>.
    /// </summary>
    public MessageDescriptor Descriptor => _descriptor.Value;

    /// <summary>The generated message class.</summary>
    public Type ClrType { get; }

    /// <summary>Parses a resource of this type from its bytes.</summary>
    public MessageParser Parser { get; }

    /// <summary>The type URL: <c>type.googleapis.com/</c> and the message's full name.</summary>
    public string TypeUrl { get; }

    /// <summary>Short name for logs and metrics: LDS, SRDS, RDS, CDS, EDS, SDS.</summary>
    public string ShortName { get; }

    /// <summary>
    /// State-of-the-World responses carry every resource of the type the client subscribes to (what one leaves out is
    /// deleted), and an empty first request subscribes to all (the legacy wildcard): LDS, SRDS and CDS. Other types may be
    /// sent in part; clients keep what a response does not name.
    /// </summary>
    public bool SotwFullSet { get; private init; }

    /// <summary>
    /// A resource removed from the snapshot is still sent while resources the client holds refer to it (by a
    /// <see cref="References"/> entry of their type), so it goes only after what used it: clusters after the listeners
    /// and routes that sent traffic to them.
    /// </summary>
    public bool KeptWhileReferenced { get; private init; }

    /// <summary>The names of other types a resource of this type refers to, which a consistent snapshot must hold.</summary>
    public IReadOnlyList<TypeReference> References { get; private init; } = [];

    /// <summary>Where the type goes in the push order (make-before-break): its position in <see cref="XdsResourceTypes.All"/>.</summary>
    public int PushOrder => XdsResourceTypes.PushOrderOf(this);

    /// <summary>
    /// The entry for messages of type <typeparamref name="T"/>, whose type URL is <paramref name="typeUrl"/> (checked against
    /// the descriptor by the tests; the descriptor is not read here): resources named by <paramref name="name"/>, referring to
    /// the names <paramref name="read"/> finds (none when null) as <paramref name="refersTo"/> declares.
    /// </summary>
    internal static XdsResourceType Of<T>(
        string typeUrl,
        string shortName,
        Func<T, string> name,
        Func<T, ResourceReferences>? read = null,
        IReadOnlyList<TypeReference>? refersTo = null,
        bool sotwFullSet = false,
        bool keptWhileReferenced = false)
        where T : IMessage<T>, new() =>
        new(typeUrl, typeof(T), new MessageParser<T>(() => new T()), () => new T().Descriptor, shortName, message => name((T)message), read is null ? _ => ResourceReferences.None : message => read((T)message))
        {
            References = refersTo ?? [],
            SotwFullSet = sotwFullSet,
            KeptWhileReferenced = keptWhileReferenced,
        };

    /// <summary>The name of <paramref name="message"/>, a message of this type.</summary>
    internal string NameOf(IMessage message) => _name(message);

    /// <summary>The names <paramref name="message"/>, a message of this type, refers to.</summary>
    internal ResourceReferences ReferencesOf(IMessage message) => _references(message);

    /// <inheritdoc />
    public override string ToString() => ShortName;
}

/// <summary>Resources of the type that declares this refer by name to resources of <paramref name="TypeUrl"/>.</summary>
/// <param name="TypeUrl">The type referred to.</param>
/// <param name="Names">Reads the names referred to from a resource's <see cref="ResourceReferences"/>.</param>
/// <param name="Verb">How a consistency problem says it, e.g. <c>loads endpoints from</c>.</param>
/// <param name="ResentAfterReferrerChanges">
/// A new or changed referring resource makes the resources it refers to due again, even unchanged ones: Envoy keeps an
/// updated EDS cluster warming until it receives its endpoints (envoyproxy/envoy xds_protocol.rst, "Resource warming").
/// </param>
public sealed record TypeReference(string TypeUrl, Func<ResourceReferences, IReadOnlyList<string>> Names, string Verb, bool ResentAfterReferrerChanges = false);
