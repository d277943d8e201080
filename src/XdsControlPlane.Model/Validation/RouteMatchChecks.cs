using static XdsControlPlane.Model.Validation.ValidationProblems;

namespace XdsControlPlane.Model.Validation;

/// <summary>Checks a route's <c>match</c>: the path prefix and each header condition.</summary>
internal static class RouteMatchChecks
{
    /// <summary>Adds the problems of <paramref name="match"/>, found at <paramref name="path"/>.</summary>
    public static void Check(RouteMatch match, string path, ValidationProblems problems)
    {
        if (match.PathPrefix is { } prefix && !prefix.StartsWith('/'))
        {
            problems.Add($"{path}.pathPrefix", $"must start with '/', got '{prefix}'");
        }

        var headers = match.Headers ?? [];
        if (headers.Count > ModelLimits.MaxHeaderMatches)
        {
            problems.Add($"{path}.headers", $"at most {Number(ModelLimits.MaxHeaderMatches)} header conditions, got {Number(headers.Count)}");
        }

        for (var i = 0; i < headers.Count; i++)
        {
            CheckHeader(headers[i], $"{path}.headers[{i}]", problems);
        }
    }

    private static void CheckHeader(HeaderMatch header, string at, ValidationProblems problems)
    {
        if (string.IsNullOrEmpty(header.Name) || !SchemaPatterns.IsHeaderName(header.Name))
        {
            problems.Add($"{at}.name", $"must be a valid HTTP header name, got '{header.Name}'");
        }

        var given = (header.Exact is null ? 0 : 1) + (header.Prefix is null ? 0 : 1) + (header.Regex is null ? 0 : 1) + (header.Present is null ? 0 : 1);
        if (given != 1)
        {
            problems.Add(at, $"needs exactly one of exact, prefix, regex or present, got {Number(given)}");
        }

        if (header.Present == false)
        {
            problems.Add($"{at}.present", "can only be true; to match a missing header, route the other requests instead");
        }

        if (header.Prefix is "")
        {
            problems.Add($"{at}.prefix", "must not be empty; use present: true");
        }

        foreach (var (field, value) in new[] { ("exact", header.Exact), ("prefix", header.Prefix), ("regex", header.Regex) })
        {
            if (SchemaPatterns.HeaderValueProblem(value) is { } valueProblem)
            {
                problems.Add($"{at}.{field}", valueProblem);
            }
        }

        if (header.Regex is { } regex && SchemaPatterns.HeaderValueProblem(regex) is null && Re2Syntax.Check(regex) is { } regexProblem)
        {
            problems.Add($"{at}.regex", regexProblem);
        }
    }
}
