using Google.Protobuf.Reflection;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>Settings for <see cref="EnvoyRulesValidator"/>.</summary>
public sealed class EnvoyRulesValidatorOptions
{
    /// <summary>
    /// Types the validator unpacks from <c>google.protobuf.Any</c> fields (such as <c>typed_config</c>) to
    /// check them too. Defaults to every type of the compiled Envoy API (<see cref="EnvoyTypeCatalog.Registry"/>).
    /// </summary>
    public TypeRegistry AnyTypes { get; init; } = EnvoyTypeCatalog.Registry;

    /// <summary>
    /// When <see langword="true"/>, an <c>Any</c> whose type is not in <see cref="AnyTypes"/> is a violation
    /// (Envoy NACKs typed configs it has no extension for). When <see langword="false"/> (the default) such a
    /// value is accepted unchecked.
    /// </summary>
    public bool RejectUnknownAnyTypes { get; init; }

    /// <summary>The clock for <c>timestamp.lt_now</c>, <c>gt_now</c> and <c>within</c>.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Deepest message nesting checked (Any unpacking included); deeper trees are a violation.</summary>
    public int MaxDepth { get; init; } = 100;
}
