using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions.Commands;

/// <summary>
/// The lookups Get-CimSession and Remove-CimSession share (spec/cmdlet-behaviour.md §1.5): the native
/// registry matches, this turns the result into session objects and Windows' "not found" errors.
/// </summary>
internal static class SessionLookup
{
    /// <summary>Sessions matching <paramref name="values"/>, and one error per value that found nothing.</summary>
    internal static (IReadOnlyList<CimSession> Found, IReadOnlyList<ErrorRecord> Errors) Find(
        RunspaceSessions state, Lookup kind, IEnumerable<string>? values)
    {
        (IReadOnlyList<NativeCimSession> found, IReadOnlyList<string> missing) = state.Scope.Find(kind, values);
        string property = kind switch
        {
            Lookup.Id => "Id",
            Lookup.InstanceId => "InstanceId",
            Lookup.ComputerName => "ComputerName",
            _ => "Name",
        };
        return (found.Select(state.Wrap).ToArray(),
                missing.Select(m => CimErrors.SessionNotFound(property, m)).ToArray());
    }
}
