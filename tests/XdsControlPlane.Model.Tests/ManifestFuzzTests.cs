using System.Diagnostics;
using System.Globalization;
using System.Text;
using CsCheck;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Model.Tests;

/// <summary>
/// Property-based fuzzing (CsCheck) of the manifest reader and validator: real manifests (the example shop, the
/// golden inputs) mutated with YAML syntax, aliases, nesting, control characters, huge numbers and durations must
/// never throw, never hang and never produce an object that fails validation unreported. Runs for FUZZ_SECONDS
/// (default 15 s in the test suite; <c>dotnet cake --target=Fuzz</c> runs 10 minutes). A failure prints the shrunk
/// input and the seed to reproduce it (CsCheck's <c>seed</c>); each finding becomes a test in ManifestReaderTests.
/// </summary>
[Category("Fuzz")]
public sealed class ManifestFuzzTests
{
    /// <summary>Far above anything a single input takes (milliseconds); an input over this is a hang.</summary>
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(10);

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ":", ": ", "- ", ", ", "\n", "\n  ", "\t", "#", "&a ", "*a", "&b [*a, *a, *a]", "<<: *a", "!!str ", "!!binary ",
        "!custom ", "? ", "|", ">-", "'", "\"", "\\", "%YAML 1.2\n", "%TAG ! tag:x:\n", "---\n", "...\n", "\0", "\r", "\u2028", "\uFEFF", "\ud800",
        "9999999999999h", "100000000h", "4294967296", "-2147483649", "1e999", "-0", ".nan", "0x1F", "~", "null", "yes",
        "[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]", "{a: {b: {c: {d: {", "apiVersion: sandboxctl.io/v1alpha1\nkind: RouteGroup\n",
        "metadata: {name: x, namespace: shop}\n", "spec: {routes: [{service: cart, to: [{service: cart-v2}]}]}\n", "weight: ", "timeout: ", "ttl: ",
        "regex: '(?=x)'", "regex: '[a-'", "service: cart.other", "routingKey: ", "port: 65536", "ports: [{port: 0}]",
    ];

    private static readonly string[] Seeds = LoadSeeds();

    /// <summary>A mutation: what to do, where (a fraction of the text's length), and with which token.</summary>
    private sealed record Mutation(int Kind, double Position, int Token, int Length)
    {
        public string ApplyTo(string text)
        {
            var at = Math.Clamp((int)(Position * text.Length), 0, text.Length);
            var length = Math.Min(Length, text.Length - at);
            var token = Tokens[Token % Tokens.Length];
            return Kind switch
            {
                0 => text.Insert(at, token),
                1 => text.Remove(at, length),
                2 => text.Insert(at, text.Substring(at, length)),
                3 when text.Length > 0 && at < text.Length => text.Remove(at, 1).Insert(at, ((char)(text[at] ^ (1 << (Token % 7)))).ToString()),
                4 => text.Insert(at, string.Concat(Enumerable.Repeat(token, 1 + (Length % 50)))),
                _ => text,
            };
        }
    }

    private static readonly Gen<(int Seed, Mutation[] Mutations)> Inputs =
        Gen.Select(
            Gen.Int[0, Seeds.Length - 1],
            Gen.Select(Gen.Int[0, 4], Gen.Double[0, 1], Gen.Int[0, Tokens.Length * 7], Gen.Int[0, 200], (kind, position, token, length) => new Mutation(kind, position, token, length)).Array[1, 8]);

    [Test]
    public void ReadAndApply_MutatedManifests_NeverThrowOrHang()
    {
        long executions = 0;
        long withProblems = 0;
        long objects = 0;
        Inputs.Sample(
            input =>
            {
                var text = input.Mutations.Aggregate(Seeds[input.Seed], (current, mutation) => mutation.ApplyTo(current));
                var clock = Stopwatch.StartNew();
                ManifestReadResult read = null!;
                FuzzRun.Watched(() => Printable(text), () =>
                {
                    read = ManifestReader.Read(text, "fuzz.yaml");
                    var applied = new LastGoodManifestSet().Apply([new ManifestFile("fuzz.yaml", read)]);
                    foreach (var obj in applied.Inputs.RouteGroups.Cast<IManifestObject>().Concat(applied.Inputs.Sandboxes).Concat(applied.Inputs.LocalWorkloads))
                    {
                        // What is in force is valid: validation of it reports nothing (and does not throw).
                        if (ManifestValidator.Validate(obj, applied.Inputs).Count > 0)
                        {
                            throw new InvalidOperationException($"{obj.Key} is in force but does not validate");
                        }
                    }
                });

                if (clock.Elapsed > HangLimit)
                {
                    throw new TimeoutException($"reading took {clock.Elapsed.TotalSeconds:F1} s");
                }

                Interlocked.Increment(ref executions);
                Interlocked.Add(ref objects, read.Objects.Count);
                if (read.Problems.Count > 0)
                {
                    Interlocked.Increment(ref withProblems);
                }
            },
            writeLine: TestContext.Out.WriteLine,
            seed: FuzzRun.Seed,
            time: FuzzRun.Seconds(15),
            threads: 1,
            print: input => Printable(input.Mutations.Aggregate(Seeds[input.Seed], (current, mutation) => mutation.ApplyTo(current))));

        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{executions} executions: {withProblems} inputs with problems, {objects} objects read, no exception, no hang"));
        Assert.That(executions, Is.GreaterThan(0));
    }

    [Test]
    public void GoDuration_AnyText_NeverThrows()
    {
        long executions = 0;
        Gen.String[Gen.Char["0123456789.hmsµn "], 0, 40].Sample(
            text =>
            {
                GoDuration.TryParse(text, out _);
                DurationRanges.RouteTimeout.TryParse(text, out _, out _);
                Interlocked.Increment(ref executions);
            },
            writeLine: TestContext.Out.WriteLine,
            seed: FuzzRun.Seed,
            time: Math.Max(1, FuzzRun.Seconds(15) / 5),
            threads: 1);

        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{executions} executions"));
    }

    private static string Printable(string text)
    {
        var shown = text.Length > 2000 ? text[..2000] + $"… ({text.Length} characters)" : text;
        var builder = new StringBuilder();
        foreach (var c in shown)
        {
            builder.Append(char.IsControl(c) && c != '\n' ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return builder.ToString();
    }

    private static string[] LoadSeeds()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XdsControlPlane.sln")))
            {
                string[] files =
                [
                    .. Directory.EnumerateFiles(Path.Combine(dir.FullName, "examples", "shop"), "*.yaml"),
                    .. Directory.EnumerateFiles(Path.Combine(dir.FullName, "tests", "XdsControlPlane.Translation.Tests", "Golden", "edge-cases", "input"), "*.yaml"),
                ];
                return [.. files.Order(StringComparer.Ordinal).Select(File.ReadAllText), ""];
            }
        }

        throw new InvalidOperationException("XdsControlPlane.sln not found above the test directory");
    }
}
