using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using RemoteSessions.Native;

namespace RemoteSessions.Commands;

/// <summary>Completes -Name with the names of this runspace's CIM sessions.</summary>
public sealed class CimSessionNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(Completion.Sessions().Select(s => s.Name).Distinct(StringComparer.OrdinalIgnoreCase), wordToComplete);
}

/// <summary>Completes -Id with the Ids of this runspace's CIM sessions.</summary>
public sealed class CimSessionIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(Completion.Sessions().Select(s => s.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)), wordToComplete);
}

/// <summary>Completes -ClassName with the classes the local provider serves.</summary>
public sealed class CimClassNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string? ns = fakeBoundParameters["Namespace"] as string;
        IReadOnlyList<string> names;
        try { names = SessionScope.LocalClassNames(ns); }
        catch (RemoteSessionsException) { names = []; }
        return Completion.Matching(names, wordToComplete);
    }
}

internal static class Completion
{
    internal static IReadOnlyList<CimSession> Sessions() =>
        SessionLookup.Find(RunspaceSessions.Current, Lookup.All, null).Found;

    internal static IEnumerable<CompletionResult> Matching(IEnumerable<string> candidates, string word)
    {
        var pattern = new WildcardPattern((word ?? "") + "*", WildcardOptions.IgnoreCase);
        return candidates.Where(pattern.IsMatch).Order(StringComparer.OrdinalIgnoreCase)
            .Select(c => new CompletionResult(c, c, CompletionResultType.ParameterValue, c));
    }
}
