namespace XdsControlPlane.Model.Validation;

/// <summary>Checks of fields that several kinds have: a routing key, a reference to a Service.</summary>
internal static class SharedFieldChecks
{
    /// <summary>Checks <c>spec.routingKey</c>: <paramref name="key"/> if given, else <paramref name="name"/>, which is then the key.</summary>
    public static void RoutingKey(string? key, string name, ValidationProblems problems)
    {
        if (!string.IsNullOrEmpty(key))
        {
            if (!SchemaPatterns.IsRoutingKey(key))
            {
                problems.Add("spec.routingKey", $"must be 1-63 characters of [a-z0-9-], got '{key}'");
            }
        }
        else if (!SchemaPatterns.IsRoutingKey(name))
        {
            problems.Add("spec.routingKey", $"is empty, so the name '{name}' is the key, but a key must be 1-63 characters of [a-z0-9-]");
        }
    }

    /// <summary>
    /// The Service that <paramref name="reference"/> (<c>name</c> or <c>name.namespace</c>, written in namespace
    /// <paramref name="ns"/>) names, if it exists and allows routes from <paramref name="ns"/>; else null and a problem at <paramref name="path"/>.
    /// </summary>
    public static KubeService? ServiceReference(string? reference, string path, string ns, RoutingInputs inputs, ValidationProblems problems)
    {
        if (string.IsNullOrEmpty(reference))
        {
            problems.Add(path, "required");
            return null;
        }

        var (serviceNamespace, name) = RoutingInputs.ParseServiceReference(reference, ns);
        if (!SchemaPatterns.IsDnsLabel(name) || !SchemaPatterns.IsDnsLabel(serviceNamespace))
        {
            problems.Add(path, $"must be 'name' or 'name.namespace', got '{reference}'");
            return null;
        }

        var service = inputs.FindService(serviceNamespace, name);
        if (service is null)
        {
            problems.AddReference(path, $"Service {serviceNamespace}/{name} does not exist");
        }
        else if (!service.AllowsRoutesFrom(ns))
        {
            problems.AddNotPermitted(path, $"Service {serviceNamespace}/{name} does not allow routes from namespace {ns} (its annotation {SandboxLabels.AllowRoutesFrom} must list {ns})");
            return null;
        }

        return service;
    }
}
