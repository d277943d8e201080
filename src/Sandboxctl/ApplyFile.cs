using XdsControlPlane.Model;

namespace Sandboxctl;

/// <summary>Reads the objects of one kind from the file of <c>apply -f</c>: all of them valid, or exit 1 and apply nothing.</summary>
internal static class ApplyFile
{
    /// <summary>
    /// Every <typeparamref name="T"/> in <paramref name="file"/>. Problems of the reader and of
    /// <paramref name="check"/> are printed (file, line, field path, reason); any problem, or no object of the kind,
    /// exits 1. Problems name the namespace an object would be applied in (<paramref name="targetNamespace"/> when the
    /// file names none).
    /// </summary>
    public static async Task<IReadOnlyList<T>> ReadAsync<T>(CliOutput cli, FileInfo file, string kind, string targetNamespace, Func<T, IEnumerable<ManifestProblem>>? check, CancellationToken cancellationToken)
        where T : IManifestObject
    {
        if (!file.Exists)
        {
            throw new CliException($"{file.FullName} does not exist.", "Pass a YAML file with -f.", ExitCodes.UserError);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var read = ManifestReader.ReadFile(file.FullName, file.Name);
        var objects = read.Objects.Where(o => o.Resource is T).ToArray();
        var problems = read.Problems.Concat(check is null ? [] : objects.SelectMany(o => check((T)o.Resource).Select(p => p with { Location = p.Location ?? o.Location }))).ToArray();
        foreach (var problem in problems)
        {
            var resource = problem.Resource is { } key ? key with { Namespace = CustomObjectClient.NamespaceOf(key.Namespace, targetNamespace) } : null;
            cli.Problem((problem with { Resource = resource }).ToString());
        }

        if (problems.Length > 0 || objects.Length == 0)
        {
            throw new CliException(problems.Length > 0 ? $"{file.Name} has {problems.Length} problem(s); nothing was applied." : $"{file.Name} has no {kind}.", "Check the file with: sandboxctl render -f " + file.Name, ExitCodes.UserError);
        }

        return [.. objects.Select(o => (T)o.Resource)];
    }
}
