namespace XdsControlPlane.Model.Tests;

public sealed class ManifestValidatorTests
{
    private const string Inventory = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec: {ports: [{name: http, port: 8080}, {name: grpc, port: 9090}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cart-v2, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: Sandbox
        metadata: {name: empty, namespace: shop}
        spec: {}
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: Sandbox
        metadata: {name: pr-7, namespace: shop}
        spec: {forks: [{of: {name: cart}}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cart-pr-7, namespace: shop, labels: {sandboxctl.io/sandbox: pr-7, sandboxctl.io/fork-of: cart}}
        spec: {ports: [{name: http, port: 8080}, {name: grpc, port: 9090}]}
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: LocalWorkload
        metadata: {name: laptop, namespace: shop}
        spec: {routingKey: alice, service: cart, ports: [{port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cache, namespace: shop}
        spec: {ports: [{name: redis, port: 6379}, {name: dns, port: 53, protocol: UDP}, {name: web, port: 8080, appProtocol: tcp}]}
        """;

    private static readonly string[] NoProblems = [];

    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}]}", "")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2, weight: 70}, {service: cart, weight: 20}]}", "spec.routes[0].to: weights must sum to 100, got 90")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}, {service: cart, weight: 20}]}", "spec.routes[0].to[0].weight: required when a route has several destinations")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2, sandbox: x}]}", "spec.routes[0].to[0]: needs exactly one of service, localWorkload or sandbox, got 2")]
    [TestCase("{service: cart, port: 8080, to: []}", "spec.routes[0].to: needs at least one destination")]
    [TestCase("{service: carts, to: [{service: cart-v2}]}", "spec.routes[0].service: Service shop/carts does not exist")]
    [TestCase("{service: cart, port: 8081, to: [{service: cart-v2}]}", "spec.routes[0].port: Service shop/cart has no port 8081 (it has 8080, 9090)")]
    [TestCase("{service: cart, to: [{service: cart-v2}]}", "spec.routes[0].to[0].service: Service shop/cart-v2 has no port 9090, which the route sends it")]
    [TestCase("{service: cart.other, port: 8080, to: [{service: cart-v2}]}", "spec.routes[0].service: Service other/cart does not exist")]
    [TestCase("{service: Cart, port: 8080, to: [{service: cart-v2}]}", "spec.routes[0].service: must be 'name' or 'name.namespace', got 'Cart'")]
    [TestCase("{service: cart, port: 8080, to: [{localWorkload: nobody}]}", "spec.routes[0].to[0].localWorkload: LocalWorkload shop/nobody does not exist")]
    [TestCase("{service: cart, port: 9090, to: [{localWorkload: laptop}]}", "spec.routes[0].to[0].localWorkload: LocalWorkload shop/laptop does not serve port 9090, which the route sends it")]
    [TestCase("{service: cart, port: 8080, to: [{sandbox: missing}]}", "spec.routes[0].to[0].sandbox: Sandbox shop/missing does not exist")]
    [TestCase("{service: cart, port: 8080, to: [{sandbox: empty}]}", "spec.routes[0].to[0].sandbox: Sandbox shop/empty has no fork of Service cart (no Service labelled sandboxctl.io/sandbox=empty, sandboxctl.io/fork-of=cart)")]
    [TestCase("{service: cart, port: 8080, match: {pathPrefix: api}, to: [{service: cart-v2}]}", "spec.routes[0].match.pathPrefix: must start with '/', got 'api'")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0]: needs exactly one of exact, prefix, regex or present, got 0")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, exact: a, prefix: b}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0]: needs exactly one of exact, prefix, regex or present, got 2")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, regex: '(?=x)y'}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0].regex: '(?=' is not supported by RE2 (no lookaround, backreferences or atomic groups)")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, regex: '[a-'}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0].regex: not a valid regular expression")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: 'x a', present: true}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0].name: must be a valid HTTP header name, got 'x a'")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, present: false}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0].present: can only be true")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], timeout: 5 seconds}", "spec.routes[0].timeout: must be a duration from 0s to 24h such as 500ms, 5s or 1m30s, got '5 seconds'")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], timeout: 9999999999999h}", "spec.routes[0].timeout: must be a duration from 0s to 24h such as 500ms, 5s or 1m30s, got '9999999999999h'")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], timeout: 100000000h}", "spec.routes[0].timeout: must be a duration from 0s to 24h such as 500ms, 5s or 1m30s, got '100000000h'")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], timeout: 25h}", "spec.routes[0].timeout: must be a duration from 0s to 24h such as 500ms, 5s or 1m30s, got '25h'")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], timeout: 1m30s}", "")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], retries: {attempts: 0}}", "spec.routes[0].retries.attempts: must be between 1 and 10, got 0")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], retries: {attempts: 2, retryOn: '5xx,sometimes'}}", "spec.routes[0].retries.retryOn: unknown retry condition 'sometimes'")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], requestHeadersToAdd: {host: evil}}", "spec.routes[0].requestHeadersToAdd.host: must be a valid HTTP header name other than host and pseudo-headers")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], requestHeadersToAdd: {x-env: \"sand\\nbox\"}}", "spec.routes[0].requestHeadersToAdd.x-env: the value holds a line feed (LF) at character 5; a header value may not hold CR, LF, NUL or other control characters")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], requestHeadersToAdd: {x-env: \"sandbox\\r\"}}", "spec.routes[0].requestHeadersToAdd.x-env: the value holds a carriage return (CR) at character 8")]
    [TestCase("{service: cart, port: 8080, to: [{service: cart-v2}], requestHeadersToAdd: {x-env: \"a\\tb\"}}", "")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, exact: \"a\\0b\"}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0].exact: holds a NUL at character 2")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, prefix: \"a\\x1b\"}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0].prefix: holds the control character U+001B at character 2")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, regex: \"a\\n.*\"}]}, to: [{service: cart-v2}]}", "spec.routes[0].match.headers[0].regex: holds a line feed (LF) at character 2")]
    [TestCase("{service: cart, port: 8080, match: {headers: [{name: x-a, regex: 'a\\n.*'}]}, to: [{service: cart-v2}]}", "")]
    public void Validate_RouteGroupRule_ReportsFieldPathAndReason(string route, string expected)
    {
        var problems = Validate("RouteGroup", "feature-x", $"spec: {{routes: [{route}]}}");

        if (expected.Length == 0)
        {
            Assert.That(problems, Is.EqualTo(NoProblems));
        }
        else
        {
            Assert.That(problems, Has.Some.StartsWith($"RouteGroup shop/feature-x: {expected}"), string.Join("\n", problems));
        }
    }

    [Test]
    public void Validate_RouteGroupUsingEveryFeature_NoProblems()
    {
        var problems = Validate("""
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: feature-x, namespace: shop}
            spec:
              routingKey: feature-x-2
              routes:
              - service: cart
                port: 8080
                match:
                  pathPrefix: /api/v1
                  headers:
                  - {name: x-user, exact: alice}
                  - {name: x-build, prefix: "12"}
                  - {name: x-trace, regex: "^[a-f0-9]{32}$"}
                  - {name: x-debug, present: true}
                to:
                - {sandbox: pr-7, weight: 50}
                - {localWorkload: laptop, weight: 30}
                - {service: cart-v2, weight: 20}
                requestHeadersToAdd: {x-environment: sandbox}
                timeout: 1m30s
                retries: {attempts: 2, retryOn: "5xx,reset"}
              - service: cart.shop
                to: [{sandbox: pr-7}]
            """);

        Assert.That(problems, Is.EqualTo(NoProblems));
    }

    [TestCase("routingKey: Feature-X", "spec.routingKey: must be 1-63 characters of [a-z0-9-], got 'Feature-X'")]
    [TestCase("routingKey: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "spec.routingKey: must be 1-63 characters of [a-z0-9-]")]
    [TestCase("routes: []", "spec.routes: needs at least one route")]
    public void Validate_RouteGroupSpec_ReportsFieldPathAndReason(string spec, string expected)
    {
        var problems = Validate("RouteGroup", "feature-x", $"spec: {{{spec}}}");

        Assert.That(problems, Has.Some.StartsWith($"RouteGroup shop/feature-x: {expected}"), string.Join("\n", problems));
    }

    [Test]
    public void Validate_NameUsedAsKeyButNotAValidKey_Reported()
    {
        var problems = Validate("RouteGroup", "feature.x", "spec: {routes: [{service: cart, port: 8080, to: [{service: cart-v2}]}]}");

        Assert.That(problems, Is.EqualTo(new[] { "RouteGroup shop/feature.x: spec.routingKey: is empty, so the name 'feature.x' is the key, but a key must be 1-63 characters of [a-z0-9-]" }));
    }

    [TestCase("spec: {service: cart, ports: [{port: 8080}]}", "spec: needs exactly one of sandbox or routingKey")]
    [TestCase("spec: {sandbox: pr-7, routingKey: bob, service: cart, ports: [{port: 8080}]}", "spec: needs exactly one of sandbox or routingKey")]
    [TestCase("spec: {routingKey: Bob, service: cart, ports: [{port: 8080}]}", "spec.routingKey: must be 1-63 characters of [a-z0-9-], got 'Bob'")]
    [TestCase("spec: {sandbox: nope, service: cart, ports: [{port: 8080}]}", "spec.sandbox: Sandbox shop/nope does not exist")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: [{port: 7000}]}", "spec.ports[0].port: Service shop/cart has no port 7000 (it has 8080, 9090)")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: [{port: 8080, protocol: udp}]}", "spec.ports[0].protocol: must be http, grpc or tcp, got 'udp'")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: []}", "spec.ports: needs at least one port")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: [{port: 8080}], secretHash: hunter2}", "spec.secretHash: must be 'sha256:' followed by 64 lowercase hex digits")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: [{port: 8080}], expose: [{service: orders.billing}, {service: 'Orders!'}]}", "spec.expose[1].service: must be a Service name, or name.namespace")]
    public void Validate_LocalWorkload_ReportsFieldPathAndReason(string spec, string expected)
    {
        var problems = Validate("LocalWorkload", "bob", spec);

        Assert.That(problems, Has.Some.EqualTo($"LocalWorkload shop/bob: {expected}"), string.Join("\n", problems));
    }

    [TestCase("spec: {sandbox: pr-7, service: cart, ports: [{port: 8080, protocol: grpc}]}")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: [{port: 8080}, {port: 9090, protocol: tcp}]}")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: [{port: 8080}], secretHash: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', expose: [{service: orders.billing}]}")]
    [TestCase("spec: {routingKey: bob, service: cart, ports: [{port: 8080}], previews: [{port: 8080, access: public}], previewRateLimit: {requestsPerSecond: 5, burst: 5}}")]
    public void Validate_ValidLocalWorkload_NoProblems(string spec) => Assert.That(Validate("LocalWorkload", "bob", spec), Is.EqualTo(NoProblems));

    [TestCase("{ttl: 30m, forks: [{of: {kind: Deployment, name: cart}, image: 'cart:pr-7', env: [{name: LOG_LEVEL, value: debug}]}], previews: [{service: cart, port: 8080, access: shared}]}")]
    [TestCase("{}")]
    [TestCase("{previews: [{service: cart, port: 8080}, {service: cart, port: 9090, access: public}], previewRateLimit: {requestsPerSecond: 10000, burst: 100000}}")]
    public void Validate_ValidSandbox_NoProblems(string spec) => Assert.That(Validate("Sandbox", "feature-x", $"spec: {spec}"), Is.EqualTo(NoProblems));

    [TestCase("{forks: [{of: {kind: StatefulSet, name: cart}}]}", "spec.forks[0].of.kind: must be Deployment, got 'StatefulSet'")]
    [TestCase("{ttl: forever}", "spec.ttl: must be a duration from 1s to 8760h such as 30m or 24h, got 'forever'")]
    [TestCase("{ttl: 0s}", "spec.ttl: must be a duration from 1s to 8760h such as 30m or 24h, got '0s'")]
    [TestCase("{ttl: 9999999999999h}", "spec.ttl: must be a duration from 1s to 8760h such as 30m or 24h, got '9999999999999h'")]
    [TestCase("{ttl: 100000000h}", "spec.ttl: must be a duration from 1s to 8760h such as 30m or 24h, got '100000000h'")]
    [TestCase("{routingKey: Feature_X}", "spec.routingKey: must be 1-63 characters of [a-z0-9-], got 'Feature_X'")]
    [TestCase("{previews: [{service: cart, port: 8080, access: everyone}]}", "spec.previews[0].access: must be public, shared or personal, got 'everyone'")]
    [TestCase("{previews: [{service: cart, port: 1, access: public}]}", "spec.previews[0].port: Service shop/cart has no port 1")]
    [TestCase("{forks: [{of: {name: cart}, env: [{name: 1BAD, value: x}]}]}", "spec.forks[0].env[0].name: must be a valid environment variable name, got '1BAD'")]
    [TestCase("{previews: [{service: cart, port: 8080}, {service: cart, port: 8080, access: public}]}", "spec.previews[1]: Service cart port 8080 is previewed twice; list each port once")]
    [TestCase("{previews: [{service: cart, port: 70000}]}", "spec.previews[0].port: must be from 1 to 65535, got 70000")]
    [TestCase("{previews: [{service: cache, port: 6379}]}", "spec.previews[0].port: Service shop/cache port 6379 is declared tcp (its name); a preview opens an HTTP or gRPC port in a browser, so the gateway serves no host for it: preview another port, or declare this one appProtocol: http")]
    [TestCase("{previews: [{service: cache, port: 8080}]}", "spec.previews[0].port: Service shop/cache port 8080 is declared tcp (its appProtocol); a preview opens an HTTP or gRPC port in a browser, so the gateway serves no host for it: preview another port, or declare this one appProtocol: http")]
    [TestCase("{previews: [{service: cache, port: 53}]}", "spec.previews[0].port: Service shop/cache port 53 is UDP; a preview opens an HTTP or gRPC port in a browser, so the gateway serves no host for it")]
    [TestCase("{previewRateLimit: {requestsPerSecond: 0, burst: 10}}", "spec.previewRateLimit.requestsPerSecond: must be from 1 to 10000, got 0")]
    [TestCase("{previewRateLimit: {requestsPerSecond: 20, burst: 10}}", "spec.previewRateLimit.burst: must be at least requestsPerSecond (20), got 10")]
    [TestCase("{previewRateLimit: {requestsPerSecond: 20, burst: 1000000}}", "spec.previewRateLimit.burst: must be from 1 to 100000, got 1000000")]
    [TestCase("{previews: [{service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}, {service: cart, port: 8080}]}", "spec.previews: at most 16 previews, got 17")]
    public void Validate_Sandbox_ReportsFieldPathAndReason(string spec, string expected)
    {
        var problems = Validate("Sandbox", "feature-x", $"spec: {spec}");

        Assert.That(problems, Has.Some.EqualTo($"Sandbox shop/feature-x: {expected}"), string.Join("\n", problems));
    }

    [TestCase("{previews: [{port: 9090}]}", "spec.previews[0].port: must be one of spec.ports (8080, 5432), got 9090")]
    [TestCase("{previews: [{port: 5432}]}", "spec.previews[0].port: port 5432 is a tcp port; a preview opens an http or grpc port in a browser")]
    [TestCase("{previews: [{port: 8080, access: all}]}", "spec.previews[0].access: must be public, shared or personal, got 'all'")]
    [TestCase("{previews: [{port: 8080}, {port: 8080, access: shared}]}", "spec.previews[1]: Service cart port 8080 is previewed twice; list each port once")]
    [TestCase("{previewRateLimit: {requestsPerSecond: 20000, burst: 20000}}", "spec.previewRateLimit.requestsPerSecond: must be from 1 to 10000, got 20000")]
    public void Validate_LocalWorkloadPreviews_ReportFieldPathAndReason(string extra, string expected)
    {
        var spec = "{routingKey: bob, service: cart, ports: [{port: 8080}, {port: 5432, protocol: tcp}], " + extra[1..];
        var problems = Validate("LocalWorkload", "bob", $"spec: {spec}");

        Assert.That(problems, Has.Some.EqualTo($"LocalWorkload shop/bob: {expected}"), string.Join("\n", problems));
    }

    [Test]
    public void Validate_LocalWorkloadPreviewOfAPortItsServiceDeclaresTcp_NamesTheFieldAndWhy()
    {
        var problems = Validate("LocalWorkload", "bob", "spec: {routingKey: bob, service: cache, ports: [{port: 8080, protocol: http}], previews: [{port: 8080, access: shared}]}");

        Assert.That(problems, Is.EqualTo(new[] { "LocalWorkload shop/bob: spec.previews[0].port: Service shop/cache port 8080 is declared tcp (its appProtocol); a preview opens an HTTP or gRPC port in a browser, so the gateway serves no host for it: preview another port, or declare this one appProtocol: http" }));
    }

    private static string[] Validate(string kind, string name, string spec) =>
        Validate($"apiVersion: sandboxctl.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}, namespace: shop}}\n{spec}\n");

    private static string[] Validate(string manifest)
    {
        var inventory = ManifestReader.Read(Inventory, "inventory.yaml");
        var read = ManifestReader.Read(manifest, "test.yaml");
        Assert.That(read.Problems, Is.Empty, "the manifest itself must parse");
        var inputs = new RoutingInputs([.. inventory.Objects.Select(o => o.Resource), .. read.Objects.Select(o => o.Resource)]);
        return [.. ManifestValidator.Validate(read.Objects.Single().Resource, inputs).Select(p => p.ToString())];
    }
}
