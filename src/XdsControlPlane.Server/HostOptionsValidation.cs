using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Server;

/// <summary>Registers an options class that is checked when the host starts, failing start-up with every problem at once.</summary>
internal static class HostOptionsValidation
{
    /// <summary>Adds <typeparamref name="T"/>, set by <paramref name="configure"/>, validated on start by <paramref name="problems"/> (empty when valid).</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, Action<T> configure, Func<T, IEnumerable<string>> problems)
        where T : class
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>>(new ProblemsValidator<T>(problems)));
        return services.AddOptions<T>().Configure(configure).ValidateOnStart();
    }

    private sealed class ProblemsValidator<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options) =>
            problems(options).ToArray() is { Length: > 0 } found ? ValidateOptionsResult.Fail(found) : ValidateOptionsResult.Success;
    }
}
