namespace XdsControlPlane.Envoy.Validation;

/// <summary>The <c>validate.rules</c> of one field (or of the items, keys or values of one), ready to run.</summary>
internal sealed class CompiledRules
{
    private IReadOnlyList<string>? _allUnsupported;

    /// <summary>No rules at all.</summary>
    public static readonly CompiledRules None = new();

    /// <summary>The field must be set (<c>message.required</c>, <c>any/duration/timestamp.required</c>).</summary>
    public bool Required { get; init; }

    /// <summary>The rule that made the field required, for reports.</summary>
    public string RequiredRule { get; init; } = "message.required";

    /// <summary>Do not descend into the message (<c>message.skip</c>).</summary>
    public bool Skip { get; init; }

    /// <summary>Skip every check when the value is empty (<c>ignore_empty</c>).</summary>
    public bool IgnoreEmpty { get; init; }

    /// <summary>Checks on the value itself (unwrapped for wrapper types).</summary>
    public IReadOnlyList<ValueCheck> Checks { get; init; } = [];

    /// <summary>Rules for each element of a repeated field (<c>repeated.items</c>).</summary>
    public CompiledRules? Items { get; init; }

    /// <summary>Rules for each key of a map field (<c>map.keys</c>).</summary>
    public CompiledRules? Keys { get; init; }

    /// <summary>Rules for each value of a map field (<c>map.values</c>).</summary>
    public CompiledRules? Values { get; init; }

    /// <summary>Rules found but not checkable: unknown rule fields, or a rule kind that does not fit the field's type.</summary>
    public IReadOnlyList<string> Unsupported { get; init; } = [];

    /// <summary>
    /// <see cref="Unsupported"/> of these rules and of their item, key and value rules, in that order (those never
    /// nest further). Computed once.
    /// </summary>
    public IReadOnlyList<string> AllUnsupported => _allUnsupported ??=
        [.. Unsupported, .. Items?.Unsupported ?? [], .. Keys?.Unsupported ?? [], .. Values?.Unsupported ?? []];

    /// <summary>True when running these rules can never report anything.</summary>
    public bool IsEmpty =>
        !Required && Checks.Count == 0 && Items is null && Keys is null && Values is null && Unsupported.Count == 0;
}
