using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Server;

/// <summary>Registers an options class (set in code or bound from a configuration section) that is checked when the host starts, failing start-up with every problem at once.</summary>
internal static class HostOptionsValidation
{
    /// <summary>Adds <typeparamref name="T"/>, set by <paramref name="configure"/>, validated on start by <paramref name="problems"/> (empty when valid).</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, Action<T> configure, Func<T, IEnumerable<string>> problems)
        where T : class
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>>(new ProblemsValidator<T>(problems)));
        return services.AddOptions<T>().Configure(configure).ValidateOnStart();
    }

    /// <summary>Adds <typeparamref name="T"/> bound from <paramref name="section"/> (its defaults where a key is absent), validated on start by <paramref name="problems"/>.</summary>
    public static OptionsBuilder<T> AddSectionOptions<T>(this IServiceCollection services, IConfiguration section, Func<T, IEnumerable<string>> problems)
        where T : class =>
        services.AddValidatedOptions<T>(options => section.Bind(options), problems);

    private sealed class ProblemsValidator<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options) =>
            problems(options).ToArray() is { Length: > 0 } found ? ValidateOptionsResult.Fail(found) : ValidateOptionsResult.Success;
    }
}
