using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace XdsControlPlane.Server;

/// <summary>
/// Which configuration key each command-line flag sets, and how its parsed value is written there. Only flags that
/// were given set their key, so a flag's default does not hide the configuration file or the environment.
/// </summary>
internal sealed class FlagKeys
{
    private readonly List<(Option Option, Func<ParseResult, IEnumerable<KeyValuePair<string, string?>>> Settings)> _flags = [];

    /// <summary><paramref name="option"/> sets <paramref name="key"/> to its value written by <paramref name="text"/>.</summary>
    public FlagKeys Add<T>(Option<T> option, string key, Func<T, string?> text)
    {
        _flags.Add((option, parse => [KeyValuePair.Create(key, text(parse.GetValue(option)!))]));
        return this;
    }

    /// <summary><paramref name="option"/>'s pair of numbers sets <paramref name="firstKey"/> and <paramref name="secondKey"/>.</summary>
    public FlagKeys AddPair(Option<(int First, int Second)> option, string firstKey, string secondKey)
    {
        _flags.Add((option, parse =>
        {
            var (first, second) = parse.GetValue(option);
            return [KeyValuePair.Create<string, string?>(firstKey, first.ToString(CultureInfo.InvariantCulture)), KeyValuePair.Create<string, string?>(secondKey, second.ToString(CultureInfo.InvariantCulture))];
        }));
        return this;
    }

    /// <summary><paramref name="option"/>'s values set the items of the list <paramref name="key"/> (<c>key:0</c>, <c>key:1</c>, …).</summary>
    public FlagKeys AddList(Option<string[]> option, string key)
    {
        _flags.Add((option, parse => (parse.GetValue(option) ?? []).Select((value, index) => KeyValuePair.Create<string, string?>(ServerConfiguration.Key(key, index.ToString(CultureInfo.InvariantCulture)), value))));
        return this;
    }

    /// <summary><paramref name="option"/>'s <c>FIRST-LAST</c> (or <c>0</c>) sets <paramref name="firstKey"/> and <paramref name="countKey"/>.</summary>
    public FlagKeys AddRange(Option<string> option, string firstKey, string countKey)
    {
        _flags.Add((option, parse => ServerCommandLine.ListenPortRange(parse.GetValue(option)) is var (first, count)
            ? [KeyValuePair.Create<string, string?>(firstKey, first.ToString(CultureInfo.InvariantCulture)), KeyValuePair.Create<string, string?>(countKey, count.ToString(CultureInfo.InvariantCulture))]
            : []));
        return this;
    }

    /// <summary>The keys and values of the flags given in <paramref name="parse"/>.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Given(ParseResult parse) =>
        _flags.Where(flag => parse.GetResult(flag.Option) is OptionResult { Implicit: false }).SelectMany(flag => flag.Settings(parse));
}
