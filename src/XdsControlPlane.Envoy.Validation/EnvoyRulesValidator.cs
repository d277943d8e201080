using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// Checks a message tree against the protoc-gen-validate (<c>validate.rules</c>) annotations of its protos, the
/// checks Envoy runs before it accepts a resource. The annotations are read from the message descriptors at run
/// time, compiled once per message type and cached; <c>Any</c> fields are unpacked and checked when their type is
/// known. Every violation is reported with its full field path. A rule the validator cannot check is reported as
/// an <c>unsupported</c> violation, never passed silently.
/// </summary>
/// <remarks>Thread-safe; share one instance.</remarks>
public sealed class EnvoyRulesValidator
{
    private readonly ConcurrentDictionary<MessageDescriptor, MessagePlan> _plans = new();
    private readonly RuleCompiler _compiler;

    /// <summary>Creates a validator with the given options (defaults when <see langword="null"/>).</summary>
    public EnvoyRulesValidator(EnvoyRulesValidatorOptions? options = null)
    {
        Options = options ?? new EnvoyRulesValidatorOptions();
        _compiler = new RuleCompiler(Options.Clock);
    }

    /// <summary>A shared validator with default options.</summary>
    public static EnvoyRulesValidator Default { get; } = new();

    /// <summary>The options this validator runs with.</summary>
    public EnvoyRulesValidatorOptions Options { get; }

    /// <summary>Checks <paramref name="message"/> and everything below it.</summary>
    public ValidationResult Validate(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var walk = new RuleWalk(this);
        walk.VisitMessage(message, depth: 0);
        return new ValidationResult(walk.Violations);
    }

    internal MessagePlan PlanFor(MessageDescriptor descriptor) =>
        _plans.GetOrAdd(descriptor, static (d, compiler) => MessagePlan.Build(d, compiler), _compiler);
}
