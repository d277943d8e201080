using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sandboxctl.PortForward;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl port-forward</c> in-process against the fake API server's port-forward WebSocket, with a real
/// loopback backend per pod that greets with its pod's name and then echoes; everything is checked through real TCP
/// clients on the local port.
/// </summary>
public sealed partial class PortForwardTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TestDisposables _disposables = new();
    private FakeApiServer _api = null!;
    private CliHarness _cli = null!;
    private string _kubeconfig = "";

    [SetUp]
    public async Task StartAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _cli = new CliHarness();
        _kubeconfig = _cli.Kubeconfig(_api.Url);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _disposables.DisposeAllAsync();
        await _api.DisposeAsync();
        _cli.Dispose();
    }

    [Test]
    public async Task PodTarget_FiftyConcurrentConnections_EveryByteEchoedBothWays()
    {
        AddPod("cart-1", ready: true);
        await using var run = Start("port-forward", "pod/cart-1", ":8080");
        var port = await run.LocalPortAsync(8080);

        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            var payload = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"connection {i:D2};", 2000)));
            using var client = await ConnectAsync(port);
            var greeting = await ReadLineAsync(client);
            await client.Client.SendAsync(payload);
            var echoed = await ReadExactlyAsync(client, payload.Length);
            return (greeting, Same: echoed.AsSpan().SequenceEqual(payload));
        }));

        Assert.Multiple(() =>
        {
            Assert.That(replies.Select(r => r.greeting), Is.All.EqualTo("cart-1"));
            Assert.That(replies.Select(r => r.Same), Is.All.True);
            Assert.That(run.Stdout, Does.Contain($"Forwarding from 127.0.0.1:{port} -> 8080"));
        });
        Assert.That(await run.StopAsync(), Is.EqualTo(ExitCodes.Ok), run.Stderr);
    }

    [Test]
    public async Task BusyLocalPort_ExitsOneNamingTheHolderAndANearbyFreePort()
    {
        AddPod("cart-1", ready: true);
        using var holder = HoldPort(out var busy);

        var (code, _, stderr) = await RunAsync("port-forward", "pod/cart-1", $"{busy}:8080");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.StartWith($"error: local port {busy} on 127.0.0.1 is in use"));
            Assert.That(Regex.Match(stderr, @"hint: Port (\d+) is free: use \1:8080, or pass --auto-port").Success, Is.True, stderr);
        });
        if (OperatingSystem.IsLinux())
        {
            // The test host holds the port: "dotnet (pid N)" or "testhost (pid N)", whatever it is called.
            Assert.That(stderr, Does.Contain($" (pid {Environment.ProcessId})"));
        }
    }

    [Test]
    public async Task AutoPort_BusyLocalPort_ForwardsFromTheFreePortItPrints()
    {
        AddPod("cart-1", ready: true);
        using var holder = HoldPort(out var busy);

        await using var run = Start("port-forward", "pod/cart-1", $"{busy}:8080", "--auto-port");
        var port = await run.LocalPortAsync(8080);

        Assert.Multiple(() =>
        {
            Assert.That(port, Is.Not.EqualTo(busy));
            Assert.That(run.Stdout, Does.Contain($"Local port {busy} on 127.0.0.1 is in use").And.Contain($"using {port} instead."));
        });
        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-1"));
    }

    [Test]
    public async Task DeploymentTarget_ForwardsToItsReadyPod()
    {
        PutDeployment("cart");
        AddPod("cart-starting", ready: false);
        AddPod("cart-1", ready: true);
        AddPod("checkout-1", ready: true, app: "checkout");

        await using var run = Start("port-forward", "deploy/cart", ":8080");
        var port = await run.LocalPortAsync(8080);

        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-1"));
    }

    [Test]
    public async Task ServiceTarget_MapsTheServicePortToItsNamedTargetPort()
    {
        _api.Put(FakeApiServer.Services, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = "cart", ["namespace"] = "shop" },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["app"] = "cart" },
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "web", ["port"] = 80, ["targetPort"] = "http" }),
            },
        });
        AddPod("cart-1", ready: true);

        await using var run = Start("port-forward", "svc/cart", ":80");
        var port = await run.LocalPortAsync(8080);

        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-1"));
    }

    [Test]
    public async Task DeploymentPodReplaced_NewConnectionsReachTheNewPod_AndTheSwitchIsPrinted()
    {
        PutDeployment("cart");
        AddPod("cart-1", ready: true);
        await using var run = Start("port-forward", "deploy/cart", ":8080");
        var port = await run.LocalPortAsync(8080);
        using var before = await ConnectAsync(port);
        Assert.That(await ReadLineAsync(before), Is.EqualTo("cart-1"));

        // The replacement is ready before the old pod goes, as in a rolling update: the switch is immediate.
        AddPod("cart-2", ready: true);
        _api.Delete(FakeApiServer.Pods, "shop", "cart-1");
        _api.ClosePortForwards("shop", "cart-1");

        await run.WaitForAsync("pod cart-1 is gone; forwarding to cart-2");
        Assert.Multiple(async () =>
        {
            Assert.That(await GreetingAsync(port), Is.EqualTo("cart-2"));
            Assert.That(await ReadsEndAsync(before), Is.True, "the old pod's connection ends");
            Assert.That(run.Stdout, Does.Not.Contain("waiting for a ready pod"), "never without a pod to forward to");
        });
    }

    [Test]
    public async Task DeploymentPodNotReady_ForwardsToAnotherReadyPod()
    {
        PutDeployment("cart");
        AddPod("cart-1", ready: true);
        await using var run = Start("port-forward", "deploy/cart", ":8080");
        var port = await run.LocalPortAsync(8080);
        AddPod("cart-2", ready: true);

        _api.PatchStatus(FakeApiServer.Pods, "shop", "cart-1", ReadyStatus(false));
        await run.WaitForAsync("pod cart-1 is not ready; forwarding to cart-2");

        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-2"));
    }

    [Test]
    public async Task SeveralPorts_EachLocalPortReachesItsPodPort()
    {
        AddPod("cart-1", ready: true);
        var admin = new EchoBackend("cart-1 admin", closeAfterGreeting: false);
        _disposables.Track(admin);
        _api.SetPodBackend("shop", "cart-1", 9090, admin.Endpoint);

        await using var run = Start("port-forward", "pod/cart-1", ":8080", ":9090");
        var web = await run.LocalPortAsync(8080);
        var adminPort = await run.LocalPortAsync(9090);

        Assert.Multiple(async () =>
        {
            Assert.That(await GreetingAsync(web), Is.EqualTo("cart-1"));
            Assert.That(await GreetingAsync(adminPort), Is.EqualTo("cart-1 admin"));
        });
    }

    [Test]
    public async Task PodTargetDeletedAndRecreated_TheSameNameIsWaitedForAgain()
    {
        AddPod("cart-1", ready: true);
        await using var run = Start("port-forward", "pod/cart-1", ":8080");
        var port = await run.LocalPortAsync(8080);

        _api.Delete(FakeApiServer.Pods, "shop", "cart-1");
        _api.ClosePortForwards("shop", "cart-1");
        await run.WaitForAsync("pod cart-1 is gone; waiting for a ready pod of pod/cart-1");
        AddPod("cart-1", ready: true, greeting: "cart-1 (recreated)");
        await run.WaitForAsync("forwarding to pod cart-1");

        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-1 (recreated)"));
    }

    [Test]
    public async Task PodNotReadyAtFirst_WaitsThenForwards()
    {
        AddPod("cart-1", ready: false);
        await using var run = Start("port-forward", "pod/cart-1", ":8080");

        // Three more looks at the pod: the command has seen it not ready at least twice and kept waiting.
        var looks = _api.RequestCount("/pods:get");
        await Eventually.WaitAsync(() => _api.RequestCount("/pods:get") >= looks + 3, "three more looks at the pods", Patience);
        Assert.That(run.Stdout, Does.Not.Contain("Forwarding from"));

        _api.PatchStatus(FakeApiServer.Pods, "shop", "cart-1", ReadyStatus(true));
        var port = await run.LocalPortAsync(8080);

        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-1"));
    }

    [Test]
    public async Task NoReadyPodInTime_ExitsTwo()
    {
        AddPod("cart-1", ready: false);

        var (code, _, stderr) = await RunAsync("port-forward", "pod/cart-1", ":8080", "--pod-running-timeout", "00:00:01");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError));
            Assert.That(stderr, Does.StartWith("error: no pod of pod/cart-1 was ready within 1 s.").And.Contain("hint:"));
        });
    }

    [TestCase("deploy/nope", "deployment shop/nope not found.")]
    [TestCase("svc/nope", "service shop/nope not found.")]
    [TestCase("pod/nope", "pod shop/nope not found.")]
    [TestCase("job/x", "'job/x' is not a pod, deployment or service.")]
    public async Task MissingOrUnknownTarget_ExitsOne(string target, string message)
    {
        var (code, _, stderr) = await RunAsync("port-forward", target, "8080");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.StartWith($"error: {message}").And.Contain("hint:"));
        });
    }

    [Test]
    public async Task LocalHalfClose_TheReplyStillArrives_AndABackendThatCloses_EndsTheLocalConnection()
    {
        AddPod("cart-1", ready: true);
        AddPod("cart-2", ready: true, closeAfterGreeting: true);
        await using var run = Start("port-forward", "pod/cart-1", ":8080");
        await using var other = Start("port-forward", "pod/cart-2", ":8080");
        var port = await run.LocalPortAsync(8080);
        var otherPort = await other.LocalPortAsync(8080);

        using var client = await ConnectAsync(port);
        Assert.That(await ReadLineAsync(client), Is.EqualTo("cart-1"));
        var stream = client.GetStream();
        await client.Client.SendAsync("last words"u8.ToArray());
        client.Client.Shutdown(SocketShutdown.Send);
        var reply = new byte["last words".Length];
        await stream.ReadExactlyAsync(reply).AsTask().WaitAsync(Patience);

        using var closing = await ConnectAsync(otherPort);
        var greeting = await ReadLineAsync(closing);
        var end = await ReadsEndAsync(closing);

        Assert.Multiple(() =>
        {
            Assert.That(Encoding.ASCII.GetString(reply), Is.EqualTo("last words"));
            Assert.That(greeting, Is.EqualTo("cart-2"));
            Assert.That(end, Is.True);
        });
    }

    [Test]
    public async Task PortWithoutListener_TheErrorChannelIsReported()
    {
        AddPod("cart-1", ready: true);
        await using var run = Start("port-forward", "pod/cart-1", ":9999");
        var port = await run.LocalPortAsync(9999);

        using var client = await ConnectAsync(port);
        var end = await ReadsEndAsync(client);
        await run.WaitForAsync("connection refused", stderr: true);

        Assert.Multiple(() =>
        {
            Assert.That(end, Is.True);
            Assert.That(run.Stderr, Does.Contain("error: forwarding to pod cart-1 port 9999: error forwarding port 9999"));
        });
    }

    [Test]
    public async Task Cancelled_ClosesTheListenerAndOpenConnections_ExitsZero()
    {
        AddPod("cart-1", ready: true);
        var run = Start("port-forward", "pod/cart-1", ":8080");
        var port = await run.LocalPortAsync(8080);
        using var open = await ConnectAsync(port);
        Assert.That(await ReadLineAsync(open), Is.EqualTo("cart-1"));

        var code = await run.StopAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), run.Stderr);
            Assert.That(await ReadsEndAsync(open), Is.True, "the open connection is closed");
            Assert.That(async () => await ConnectAsync(port), Throws.InstanceOf<SocketException>(), "the listener is closed");
            Assert.That(run.Stderr, Is.Empty);
        });
        await Eventually.WaitAsync(() => _api.OpenPortForwards("shop", "cart-1") == 0, "the port-forward streams to close", Patience);
    }

    [Test]
    [Platform("Linux")]
    public async Task RealProcess_HoldsThePortAnotherRunNamesIt_AndSigintExitsZero()
    {
        AddPod("cart-1", ready: true);
        // As a terminal starts it: with SIGINT's default action. A test run started in the background by a
        // non-interactive shell has SIGINT ignored, children inherit that, and .NET then leaves it ignored, so Ctrl+C
        // would never reach the command (env --default-signal, coreutils 8.31+).
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "sandboxctl.dll"), "port-forward", "pod/cart-1", ":8080", "--kubeconfig", _kubeconfig })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            string? line;
            do
            {
                line = await process.StandardOutput.ReadLineAsync().WaitAsync(Patience);
            }
            while (line is not null && !line.StartsWith("Forwarding from", StringComparison.Ordinal));

            Assert.That(line, Is.Not.Null, "no Forwarding line");
            var output = process.StandardOutput.ReadToEndAsync();   // keep draining: a full pipe would block the command
            var port = int.Parse(line!.Split(':', ' ')[3], System.Globalization.CultureInfo.InvariantCulture);
            var greeting = await GreetingAsync(port);
            var (busyCode, _, busyError) = await RunAsync("port-forward", "pod/cart-1", $"{port}:8080");

            using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync().WaitAsync(Patience);
            }

            try
            {
                await process.WaitForExitAsync().WaitAsync(Patience);
            }
            catch (TimeoutException)
            {
                process.Kill();
                Assert.Fail($"still running {Patience.TotalSeconds} s after SIGINT; stdout:\n{await output}\nstderr:\n{await stderr}");
            }

            var errors = await stderr.WaitAsync(Patience);
            Assert.Multiple(() =>
            {
                Assert.That(greeting, Is.EqualTo("cart-1"));
                Assert.That(busyCode, Is.EqualTo(ExitCodes.UserError));
                Assert.That(busyError, Does.Contain($"is in use by dotnet (pid {process.Id})"));
                Assert.That(process.ExitCode, Is.EqualTo(ExitCodes.Ok), errors);
            });
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [TestCase("8080", 8080, "8080")]
    [TestCase("9000:80", 9000, "80")]
    [TestCase(":80", 0, "80")]
    [TestCase("9000:http", 9000, "http")]
    public void PortMapping_Parse(string text, int local, string remote) =>
        Assert.That(PortMapping.Parse(text), Is.EqualTo(new PortMapping(local, remote)));

    [TestCase("http")]
    [TestCase("70000")]
    [TestCase("80:")]
    [TestCase("x:80")]
    public void PortMapping_ParseInvalid_IsAUserError(string text) =>
        Assert.That(() => PortMapping.Parse(text), Throws.InstanceOf<CliException>().With.Property(nameof(CliException.ExitCode)).EqualTo(ExitCodes.UserError));

    [TestCase("pod/cart-1", "Pod", "cart-1")]
    [TestCase("cart-1", "Pod", "cart-1")]
    [TestCase("deployment/cart", "Deployment", "cart")]
    [TestCase("deploy/cart", "Deployment", "cart")]
    [TestCase("svc/cart", "Service", "cart")]
    [TestCase("service/cart", "Service", "cart")]
    public void PortForwardTarget_Parse(string text, string kind, string name) =>
        Assert.That(PortForwardTarget.Parse(text), Is.EqualTo(new PortForwardTarget(Enum.Parse<PortForwardTargetKind>(kind), name)));

    [Test]
    public void ListeningInodes_ReadsListeningSocketsOfThePortOnly()
    {
        string[] table =
        [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0",
            "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1",
            "   2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4444 1 0 100 0 0 10 0",
        ];

        Assert.That(LocalPortProbe.ListeningInodes(table, 8080), Is.EqualTo(new[] { "4242" }));
    }

    /// <summary>A loopback port this process listens on, as another program would.</summary>
    private static TcpListener HoldPort(out int port)
    {
        var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        port = ((IPEndPoint)holder.LocalEndpoint).Port;
        return holder;
    }

    private void PutDeployment(string app) => _api.Put(FakeApiServer.Deployments, new JsonObject
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = app, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = app } } },
    });

    private static JsonObject ReadyStatus(bool ready) => new()
    {
        ["phase"] = "Running",
        ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
    };

    /// <summary>A pod with container port http=8080 and a loopback backend behind it that greets with its name and echoes.</summary>
    private void AddPod(string name, bool ready, string app = "cart", string? greeting = null, bool closeAfterGreeting = false, JsonObject? labels = null)
    {
        var backend = new EchoBackend(greeting ?? name, closeAfterGreeting);
        _disposables.Track(backend);
        _api.SetPodBackend("shop", name, 8080, backend.Endpoint);
        _api.Put(FakeApiServer.Pods, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop", ["labels"] = labels ?? new JsonObject { ["app"] = app } },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = "app",
                    ["image"] = "example/app",
                    ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["containerPort"] = 8080 }),
                }),
            },
            ["status"] = ReadyStatus(ready),
        });
    }

    private CommandRun Start(params string[] args)
    {
        var run = new CommandRun([.. args, "--kubeconfig", _kubeconfig]);
        _disposables.Track(run);
        return run;
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        await using var run = new CommandRun([.. args, "--kubeconfig", _kubeconfig]);
        var code = await run.Completion.WaitAsync(Patience);
        return (code, run.Stdout, run.Stderr);
    }

    private static async Task<string> GreetingAsync(int port)
    {
        using var client = await ConnectAsync(port);
        return await ReadLineAsync(client);
    }

    private static async Task<TcpClient> ConnectAsync(int port)
    {
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Patience);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task<string> ReadLineAsync(TcpClient client)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (await client.GetStream().ReadAsync(one).AsTask().WaitAsync(Patience) == 1 && one[0] != '\n')
        {
            line.Add(one[0]);
        }

        return Encoding.UTF8.GetString([.. line]);
    }

    private static async Task<byte[]> ReadExactlyAsync(TcpClient client, int count)
    {
        var buffer = new byte[count];
        await client.GetStream().ReadExactlyAsync(buffer).AsTask().WaitAsync(Patience);
        return buffer;
    }

    /// <summary>Whether the peer ended the connection: a clean end of stream or a reset; a timeout or any other error is a failure.</summary>
    private static async Task<bool> ReadsEndAsync(TcpClient client)
    {
        try
        {
            return await client.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(Patience) == 0;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return true;
        }
    }

    /// <summary>The command running in-process until stopped, its output captured as it is written.</summary>
    private sealed partial class CommandRun : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cancellation = new();
        private readonly SynchronizedWriter _stdout = new();
        private readonly SynchronizedWriter _stderr = new();
        private int _disposed;

        public CommandRun(string[] args) =>
            Completion = Task.Run(() => SandboxctlCommandLine.RunAsync(args, _stdout, _stderr, _cancellation.Token));

        public Task<int> Completion { get; }

        public string Stdout => _stdout.Text;

        public string Stderr => _stderr.Text;

        /// <summary>The local port printed in <c>Forwarding from 127.0.0.1:PORT -> REMOTE</c>.</summary>
        public async Task<int> LocalPortAsync(int remote)
        {
            var output = await WaitForAsync($" -> {remote}\n");
            var line = ForwardingLine().Matches(output).First(m => m.Groups[2].Value == remote.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return int.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        public async Task<string> WaitForAsync(string text, bool stderr = false)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (true)
            {
                var output = stderr ? Stderr : Stdout;
                if (output.Contains(text, StringComparison.Ordinal))
                {
                    return output;
                }

                if (Completion.IsCompleted || DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"no '{text}' in the output (exit: {(Completion.IsCompleted ? Completion.Result : "running")}):\n{Stdout}\n{Stderr}");
                }

                await Task.Delay(20);
            }
        }

        public async Task<int> StopAsync()
        {
            await _cancellation.CancelAsync();
            return await Completion.WaitAsync(Patience);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            await _cancellation.CancelAsync();
            try
            {
                await Completion.WaitAsync(Patience);
            }
            finally
            {
                _cancellation.Dispose();
            }
        }

        [GeneratedRegex(@"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")]
        private static partial Regex ForwardingLine();
    }

    /// <summary>A writer the command writes to from many threads while the test reads it.</summary>
    private sealed class SynchronizedWriter : TextWriter
    {
        private readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void Write(char[] buffer, int index, int count)
        {
            lock (_text)
            {
                _text.Append(buffer, index, count);
            }
        }
    }

    /// <summary>A loopback TCP server for one pod: greets each connection with a line, then echoes (or closes).</summary>
    private sealed class EchoBackend : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        public EchoBackend(string greeting, bool closeAfterGreeting)
        {
            _listener.Start();
            Endpoint = (IPEndPoint)_listener.LocalEndpoint;
            _accepting = AcceptAsync(Encoding.UTF8.GetBytes(greeting + "\n"), closeAfterGreeting);
        }

        public IPEndPoint Endpoint { get; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _accepting;
            _stop.Dispose();
        }

        private async Task AcceptAsync(byte[] greeting, bool closeAfterGreeting)
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    connections.Add(EchoAsync(socket, greeting, closeAfterGreeting));
                }
            }
            catch (OperationCanceledException)
            {
            }

            await Task.WhenAll(connections);
        }

        private async Task EchoAsync(Socket socket, byte[] greeting, bool closeAfterGreeting)
        {
            using (socket)
            {
                try
                {
                    await socket.SendAsync(greeting, _stop.Token);
                    if (closeAfterGreeting)
                    {
                        return;
                    }

                    var buffer = new byte[16 * 1024];
                    int read;
                    while ((read = await socket.ReceiveAsync(buffer, _stop.Token)) > 0)
                    {
                        await socket.SendAsync(buffer.AsMemory(0, read), _stop.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException)
                {
                }
            }
        }
    }
}
