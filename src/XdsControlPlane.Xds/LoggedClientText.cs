namespace XdsControlPlane.Xds;

/// <summary>
/// A client-supplied name (node id, group, type URL, nonce) as a log argument: made printable and capped at
/// <see cref="ClientText.MaxNameLength"/> when the log event is rendered, so nothing is computed for disabled levels.
/// </summary>
/// <param name="Text">The text as the client sent it.</param>
internal readonly record struct LoggedName(string? Text)
{
    /// <summary>Wraps <paramref name="text"/>.</summary>
    public static implicit operator LoggedName(string? text) => new(text);

    /// <inheritdoc />
    public override string ToString() => ClientText.Printable(Text, ClientText.MaxNameLength);
}

/// <summary>
/// A client-supplied message (a NACK's text, a reason quoting a request) as a log argument: one line, printable,
/// capped at <see cref="ClientText.MaxMessageLength"/> when the log event is rendered.
/// </summary>
/// <param name="Text">The text as it came.</param>
internal readonly record struct LoggedMessage(string? Text)
{
    /// <summary>Wraps <paramref name="text"/>.</summary>
    public static implicit operator LoggedMessage(string? text) => new(text);

    /// <inheritdoc />
    public override string ToString() => ClientText.OneLine(Text, ClientText.MaxMessageLength);
}
