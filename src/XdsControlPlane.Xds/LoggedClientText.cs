namespace XdsControlPlane.Xds;

/// <summary>
/// A client-supplied name (node id, group, type URL, nonce) as a log argument: made printable and capped at
/// <see cref="ClientText.MaxNameLength"/> when the log event is rendered, so nothing is computed for disabled levels.
/// </summary>
internal readonly record struct LoggedName(string? Text)
{
    public static implicit operator LoggedName(string? text) => new(text);

    public override string ToString() => ClientText.Printable(Text, ClientText.MaxNameLength);
}

/// <summary>
/// A client-supplied message (a NACK's text, a reason quoting a request) as a log argument: one line, printable,
/// capped at <see cref="ClientText.MaxMessageLength"/> when the log event is rendered.
/// </summary>
internal readonly record struct LoggedMessage(string? Text)
{
    public static implicit operator LoggedMessage(string? text) => new(text);

    public override string ToString() => ClientText.OneLine(Text, ClientText.MaxMessageLength);
}
