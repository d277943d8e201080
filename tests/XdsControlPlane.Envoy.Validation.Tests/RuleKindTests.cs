using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;
using XdsControlPlane.Envoy.Validation.Tests.Rules;

namespace XdsControlPlane.Envoy.Validation.Tests;

/// <summary>
/// Every protoc-gen-validate rule, one field each (Protos/rule_cases.proto): a value that breaks the rule is reported
/// at that field with that rule, and a value that satisfies it is not.
/// </summary>
public sealed class RuleKindTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static readonly EnvoyRulesValidator Validator = new(new EnvoyRulesValidatorOptions
    {
        AnyTypes = TypeRegistry.FromFiles(RuleCasesReflection.Descriptor),
        Clock = new FakeTimeProvider(Now),
    });

    private static MessageCases ValidMessageCases() => new() { Required = new Leaf { Name = "x" }, First = "set" };

    internal static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case<T>(string rule, string path, Action<T> breakIt, Action<T> satisfyIt, Func<T>? seed = null)
            where T : IMessage<T>, new()
        {
            var bad = seed is null ? new T() : seed();
            breakIt(bad);
            var good = seed is null ? new T() : seed();
            satisfyIt(good);
            return new TestCaseData(bad, good, path, rule).SetArgDisplayNames(rule, path);
        }

        // string
        yield return Case<StringCases>("string.const", "const", m => m.Const = "abd", m => m.Const = "abc");
        yield return Case<StringCases>("string.len", "len", m => m.Len = "ab", m => m.Len = "äbc");
        yield return Case<StringCases>("string.min_len", "min_len", m => m.MinLen = "é", m => m.MinLen = "éé");
        yield return Case<StringCases>("string.max_len", "max_len", m => m.MaxLen = "abcd", m => m.MaxLen = "äöü");
        yield return Case<StringCases>("string.len_bytes", "len_bytes", m => m.LenBytes = "abc", m => m.LenBytes = "éé");
        yield return Case<StringCases>("string.min_bytes", "min_bytes", m => m.MinBytes = "abc", m => m.MinBytes = "ééé");
        yield return Case<StringCases>("string.max_bytes", "max_bytes", m => m.MaxBytes = "ééé", m => m.MaxBytes = "éé");
        yield return Case<StringCases>("string.pattern", "pattern", m => m.Pattern = "abc\n", m => m.Pattern = "abc");
        yield return Case<StringCases>("string.prefix", "prefix", m => m.Prefix = "xpre", m => m.Prefix = "prefab");
        yield return Case<StringCases>("string.suffix", "suffix", m => m.Suffix = "fixx", m => m.Suffix = "prefix");
        yield return Case<StringCases>("string.contains", "contains", m => m.Contains = "mi-d", m => m.Contains = "amidst");
        yield return Case<StringCases>("string.not_contains", "not_contains", m => m.NotContains = "a bad one", m => m.NotContains = "fine");
        yield return Case<StringCases>("string.in", "in", m => m.In = "ftp", m => m.In = "https");
        yield return Case<StringCases>("string.not_in", "not_in", m => m.NotIn = "admin", m => m.NotIn = "user");
        yield return Case<StringCases>("string.email", "email", m => m.Email = "alice@", m => m.Email = "alice@example.com");
        yield return Case<StringCases>("string.hostname", "hostname", m => m.Hostname = "-cart.shop", m => m.Hostname = "cart.shop.svc.cluster.local");
        yield return Case<StringCases>("string.ip", "ip", m => m.Ip = "10.0.0", m => m.Ip = "::1");
        yield return Case<StringCases>("string.ipv4", "ipv4", m => m.Ipv4 = "::1", m => m.Ipv4 = "10.0.0.1");
        yield return Case<StringCases>("string.ipv6", "ipv6", m => m.Ipv6 = "10.0.0.1", m => m.Ipv6 = "fe80::1");
        yield return Case<StringCases>("string.uri", "uri", m => m.Uri = "/relative/path", m => m.Uri = "https://example.com/a?b=c");
        yield return Case<StringCases>("string.uri_ref", "uri_ref", m => m.UriRef = "http://[bad", m => m.UriRef = "/relative/path");
        yield return Case<StringCases>("string.address", "address", m => m.Address = "not an address", m => m.Address = "127.0.0.1");
        yield return Case<StringCases>("string.uuid", "uuid", m => m.Uuid = "1234", m => m.Uuid = "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
        yield return Case<StringCases>("string.well_known_regex", "header_name", m => m.HeaderName = "x routing key", m => m.HeaderName = ":authority");
        yield return Case<StringCases>("string.well_known_regex", "header_value", m => m.HeaderValue = "a\u0001b", m => m.HeaderValue = "routing-key=feature-x;\tq=1");
        yield return Case<StringCases>("string.well_known_regex", "lenient_header", m => m.LenientHeader = "a\rb", m => m.LenientHeader = "any thing (lenient)");
        yield return Case<StringCases>("string.min_len", "ignore_empty", m => m.IgnoreEmpty = "ab", m => m.IgnoreEmpty = string.Empty);

        // bytes
        yield return Case<BytesCases>("bytes.const", "const", m => m.Const = Bytes(1, 3), m => m.Const = Bytes(1, 2));
        yield return Case<BytesCases>("bytes.len", "len", m => m.Len = Bytes(1), m => m.Len = Bytes(1, 2));
        yield return Case<BytesCases>("bytes.min_len", "min_len", m => m.MinLen = Bytes(1), m => m.MinLen = Bytes(1, 2, 3));
        yield return Case<BytesCases>("bytes.max_len", "max_len", m => m.MaxLen = Bytes(1, 2, 3), m => m.MaxLen = Bytes(1));
        yield return Case<BytesCases>("bytes.pattern", "pattern", m => m.Pattern = ByteString.CopyFromUtf8("AB"), m => m.Pattern = ByteString.CopyFromUtf8("ab"));
        yield return Case<BytesCases>("bytes.prefix", "prefix", m => m.Prefix = Bytes(1, 0x99), m => m.Prefix = Bytes(0x99, 1));
        yield return Case<BytesCases>("bytes.suffix", "suffix", m => m.Suffix = Bytes(0x99, 1), m => m.Suffix = Bytes(1, 0x99));
        yield return Case<BytesCases>("bytes.contains", "contains", m => m.Contains = Bytes(1, 2), m => m.Contains = Bytes(1, 0x99, 2));
        yield return Case<BytesCases>("bytes.in", "in", m => m.In = Bytes(3), m => m.In = Bytes(2));
        yield return Case<BytesCases>("bytes.not_in", "not_in", m => m.NotIn = Bytes(0), m => m.NotIn = Bytes(1));
        yield return Case<BytesCases>("bytes.ip", "ip", m => m.Ip = Bytes(1, 2, 3), m => m.Ip = Bytes(127, 0, 0, 1));
        yield return Case<BytesCases>("bytes.ipv4", "ipv4", m => m.Ipv4 = ByteString.CopyFrom(new byte[16]), m => m.Ipv4 = Bytes(10, 0, 0, 1));
        yield return Case<BytesCases>("bytes.ipv6", "ipv6", m => m.Ipv6 = Bytes(10, 0, 0, 1), m => m.Ipv6 = ByteString.CopyFrom(new byte[16]));

        // numbers and bool
        yield return Case<NumberCases>("int32.const", "int32_const", m => m.Int32Const = 8, m => m.Int32Const = 7);
        yield return Case<NumberCases>("int64.lt", "int64_lt", m => m.Int64Lt = 10, m => m.Int64Lt = 9);
        yield return Case<NumberCases>("uint32.lte", "uint32_lte", m => m.Uint32Lte = 65536, m => m.Uint32Lte = 65535);
        yield return Case<NumberCases>("uint64.gt", "uint64_gt", m => m.Uint64Gt = 0, m => m.Uint64Gt = ulong.MaxValue);
        yield return Case<NumberCases>("sint32.gte", "sint32_gte", m => m.Sint32Gte = -6, m => m.Sint32Gte = -5);
        yield return Case<NumberCases>("sint64.in", "sint64_in", m => m.Sint64In = 4, m => m.Sint64In = 3);
        yield return Case<NumberCases>("fixed32.not_in", "fixed32_not_in", m => m.Fixed32NotIn = 0, m => m.Fixed32NotIn = 1);
        yield return Case<NumberCases>("fixed64.gt+lt", "fixed64_inside", m => m.Fixed64Inside = 20, m => m.Fixed64Inside = 11);
        yield return Case<NumberCases>("sfixed32.gt+lt", "sfixed32_outside", m => m.Sfixed32Outside = 15, m => m.Sfixed32Outside = 21);
        yield return Case<NumberCases>("sfixed64.gte+lte", "sfixed64_closed", m => m.Sfixed64Closed = 2, m => m.Sfixed64Closed = -1);
        yield return Case<NumberCases>("float.gt", "float_gt", m => m.FloatGt = 0.5f, m => m.FloatGt = 0.51f);
        yield return Case<NumberCases>("double.gte+lte", "double_range", m => m.DoubleRange = 1.0001, m => m.DoubleRange = 1.0);
        yield return Case<NumberCases>("uint32.gte", "wrapped_gte", m => m.WrappedGte = 0, m => m.WrappedGte = 1);
        yield return Case<NumberCases>("bool.const", "bool_const", m => m.BoolConst = false, m => m.BoolConst = true);

        // enums
        yield return Case<EnumCases>("enum.defined_only", "defined_only", m => m.DefinedOnly = (Color)42, m => m.DefinedOnly = Color.Blue);
        yield return Case<EnumCases>("enum.const", "const", m => m.Const = Color.Green, m => m.Const = Color.Red);
        yield return Case<EnumCases>("enum.in", "in", m => m.In = Color.Blue, m => m.In = Color.Green);
        yield return Case<EnumCases>("enum.not_in", "not_in", m => m.NotIn = Color.Unspecified, m => m.NotIn = Color.Red);

        // messages and oneofs
        yield return Case("message.required", "required", m => m.Required = null, _ => { }, ValidMessageCases);
        yield return Case("oneof.required", "choice", m => m.ClearChoice(), m => m.Second = new Leaf { Name = "y" }, ValidMessageCases);
        yield return Case("string.min_len", "nested.name", m => m.Nested = new Leaf(), m => m.Nested = new Leaf { Name = "n" }, ValidMessageCases);
        yield return Case("string.min_len", "second.name", m => m.Second = new Leaf(), m => m.Second = new Leaf { Name = "n" }, ValidMessageCases);
        yield return Case("string.min_len", "fourth", m => m.Fourth = "a", m => m.Third = new Leaf { Name = "t" }, ValidMessageCases);

        // repeated
        yield return Case<RepeatedCases>("repeated.min_items", "min_items", _ => { }, m => m.MinItems.Add("a"), SeedRepeated(minItems: false));
        yield return Case<RepeatedCases>("repeated.max_items", "max_items", m => m.MaxItems.Add(["a", "b", "c"]), m => m.MaxItems.Add(["a", "b"]), SeedRepeated());
        yield return Case<RepeatedCases>("repeated.unique", "unique", m => m.Unique.Add(["a", "b", "a"]), m => m.Unique.Add(["a", "b"]), SeedRepeated());
        yield return Case<RepeatedCases>("repeated.items.string.min_len", "items[1]", m => m.Items.Add(["ab", "c"]), m => m.Items.Add(["ab", "cd"]), SeedRepeated());
        yield return Case<RepeatedCases>("string.min_len", "leaves[2].name", m => m.Leaves.Add([Leaf("a"), Leaf("b"), Leaf("")]), m => m.Leaves.Add(Leaf("a")), SeedRepeated());

        // maps
        yield return Case<MapCases>("map.min_pairs", "min_pairs", _ => { }, m => m.MinPairs["k"] = "v", SeedMaps(minPairs: false));
        yield return Case<MapCases>("map.max_pairs", "max_pairs", m => m.MaxPairs.Add(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }), m => m.MaxPairs["a"] = "1", SeedMaps());
        yield return Case<MapCases>("map.keys.string.min_len", "keys[\"k\"]", m => m.Keys["k"] = "v", m => m.Keys["kk"] = "v", SeedMaps());
        yield return Case<MapCases>("map.values.uint32.gte", "values[\"zero\"]", m => m.Values["zero"] = 0, m => m.Values["one"] = 1, SeedMaps());
        yield return Case<MapCases>("string.min_len", "leaves[7].name", m => m.Leaves[7] = new Leaf(), m => m.Leaves[7] = Leaf("x"), SeedMaps());

        // Any
        yield return Case<AnyCases>("any.required", "required", _ => { }, m => m.Required = Any.Pack(new Empty()), () => new AnyCases());
        yield return Case<AnyCases>("any.in", "in", m => m.In = Any.Pack(new Empty()), m => m.In = Any.Pack(Leaf("x")), SeedAny);
        yield return Case<AnyCases>("any.not_in", "not_in", m => m.NotIn = Any.Pack(Leaf("x")), m => m.NotIn = Any.Pack(new Empty()), SeedAny);
        yield return Case<AnyCases>("string.min_len", "typed.name", m => m.Typed = Any.Pack(new Leaf()), m => m.Typed = Any.Pack(Leaf("x")), SeedAny);

        // durations
        yield return Case<DurationCases>("duration.required", "required", m => m.Required = null, _ => { }, SeedDurations);
        yield return Case<DurationCases>("duration.const", "const", m => m.Const = Seconds(2), m => m.Const = Seconds(1), SeedDurations);
        yield return Case<DurationCases>("duration.lt", "lt", m => m.Lt = Seconds(5), m => m.Lt = new Duration { Seconds = 4, Nanos = 999_999_999 }, SeedDurations);
        yield return Case<DurationCases>("duration.lte", "lte", m => m.Lte = new Duration { Seconds = 5, Nanos = 1 }, m => m.Lte = Seconds(5), SeedDurations);
        yield return Case<DurationCases>("duration.gt", "gt", m => m.Gt = new Duration(), m => m.Gt = new Duration { Nanos = 1 }, SeedDurations);
        yield return Case<DurationCases>("duration.gte", "gte", m => m.Gte = new Duration { Nanos = 999_999 }, m => m.Gte = new Duration { Nanos = 1_000_000 }, SeedDurations);
        yield return Case<DurationCases>("duration.in", "in", m => m.In = Seconds(3), m => m.In = Seconds(2), SeedDurations);
        yield return Case<DurationCases>("duration.not_in", "not_in", m => m.NotIn = new Duration(), m => m.NotIn = Seconds(1), SeedDurations);
        yield return Case<DurationCases>("duration.valid", "lt", m => m.Lt = new Duration { Seconds = 1, Nanos = -5 }, m => m.Lt = new Duration { Seconds = -1, Nanos = -5 }, SeedDurations);

        // timestamps (clock fixed at 2026-11-23T12:00:00Z)
        yield return Case<TimestampCases>("timestamp.required", "required", m => m.Required = null, _ => { }, SeedTimestamps);
        yield return Case<TimestampCases>("timestamp.const", "const", m => m.Const = new Timestamp { Seconds = 1001 }, m => m.Const = new Timestamp { Seconds = 1000 }, SeedTimestamps);
        yield return Case<TimestampCases>("timestamp.lt", "lt", m => m.Lt = new Timestamp { Seconds = 1000 }, m => m.Lt = new Timestamp { Seconds = 999 }, SeedTimestamps);
        yield return Case<TimestampCases>("timestamp.gte", "gte", m => m.Gte = new Timestamp { Seconds = 999 }, m => m.Gte = new Timestamp { Seconds = 1000 }, SeedTimestamps);
        yield return Case<TimestampCases>("timestamp.lt_now", "lt_now", m => m.LtNow = At(Now.AddSeconds(1)), m => m.LtNow = At(Now.AddSeconds(-1)), SeedTimestamps);
        yield return Case<TimestampCases>("timestamp.gt_now", "gt_now", m => m.GtNow = At(Now.AddSeconds(-1)), m => m.GtNow = At(Now.AddSeconds(1)), SeedTimestamps);
        yield return Case<TimestampCases>("timestamp.within", "within", m => m.Within = At(Now.AddSeconds(61)), m => m.Within = At(Now.AddSeconds(-60)), SeedTimestamps);
        yield return Case<TimestampCases>("timestamp.valid", "lt", m => m.Lt = new Timestamp { Seconds = -1, Nanos = -1 }, m => m.Lt = new Timestamp { Seconds = -1 }, SeedTimestamps);
    }

    [TestCaseSource(nameof(Cases))]
    public void Validate_ValueBreakingRule_IsReportedAtItsField(IMessage broken, IMessage satisfied, string path, string rule)
    {
        var bad = Validator.Validate(broken);
        var good = Validator.Validate(satisfied);

        Assert.Multiple(() =>
        {
            Assert.That(bad.Violations.Select(v => (v.FieldPath, v.Rule)), Is.EqualTo(new[] { (path, rule) }), bad.ToString());
            Assert.That(good.Violations, Is.Empty, good.ToString());
        });
    }

    [Test]
    public void Validate_SkippedMessage_IsNotDescendedInto()
    {
        var message = ValidMessageCases();
        message.Skipped = new Leaf();

        Assert.That(Validator.Validate(message).Violations, Is.Empty);
    }

    [Test]
    public void Validate_DisabledMessage_IsNotChecked() =>
        Assert.That(Validator.Validate(new DisabledCases { Name = "x" }).Violations, Is.Empty);

    [Test]
    public void Validate_RuleThatDoesNotFitFieldType_IsReportedAsUnsupported()
    {
        var message = new MismatchCases { StringWithNumberRule = "x", ListWithStringRule = { "a" } };

        var violations = Validator.Validate(message).Violations;

        Assert.Multiple(() =>
        {
            Assert.That(violations.Select(v => (v.FieldPath, v.Rule)), Is.EqualTo(new[] { ("string_with_number_rule", "unsupported"), ("list_with_string_rule", "unsupported") }));
            Assert.That(violations[0].Requirement, Does.Contain("uint32").And.Contain("string"));
            Assert.That(violations[1].Requirement, Does.Contain("repeated string"));
        });
    }

    [Test]
    public void Validate_DeepAnyNesting_StopsAtMaxDepth()
    {
        var shallow = new EnvoyRulesValidator(new EnvoyRulesValidatorOptions { AnyTypes = TypeRegistry.FromFiles(RuleCasesReflection.Descriptor), MaxDepth = 1 });
        var inner = new AnyCases { Required = Any.Pack(new Empty()) };
        var outer = new AnyCases { Required = Any.Pack(new Empty()), Typed = Any.Pack(new AnyCases { Required = Any.Pack(new Empty()), Typed = Any.Pack(inner) }) };

        var violation = shallow.Validate(outer).Violations.Single();

        Assert.That((violation.FieldPath, violation.Rule), Is.EqualTo(("typed.typed", "max_depth")));
    }

    private static ByteString Bytes(params byte[] bytes) => ByteString.CopyFrom(bytes);

    private static Leaf Leaf(string name) => new() { Name = name };

    private static Duration Seconds(long seconds) => new() { Seconds = seconds };

    private static Timestamp At(DateTimeOffset time) => Timestamp.FromDateTimeOffset(time);

    private static Func<RepeatedCases> SeedRepeated(bool minItems = true) => () => minItems ? new RepeatedCases { MinItems = { "a" } } : new RepeatedCases();

    private static Func<MapCases> SeedMaps(bool minPairs = true) => () => minPairs ? new MapCases { MinPairs = { ["k"] = "v" } } : new MapCases();

    private static AnyCases SeedAny() => new() { Required = Any.Pack(new Empty()) };

    private static DurationCases SeedDurations() => new() { Required = new Duration() };

    private static TimestampCases SeedTimestamps() => new() { Required = new Timestamp() };
}
