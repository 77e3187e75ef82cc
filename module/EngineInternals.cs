using System.Management.Automation;
using System.Reflection;

namespace RemoteSessions;

/// <summary>
/// The one internal member of PowerShell's engine the cmdlets use besides the type accelerator table
/// (module/TypeAccelerators.cs), pinned to pwsh 7.6 LTS: tests/pester/WindowsFidelity.Tests.ps1 fails
/// loudly when an update changes it.
/// </summary>
internal static class EngineInternals
{
    // ErrorRecord.PreserveInvocationInfoOnce (internal): when set, the command runtime keeps the record's
    // invocation info and FullyQualifiedErrorId as they are instead of appending ",<command type>".
    private static readonly PropertyInfo? PreserveInvocationInfoOnce =
        typeof(ErrorRecord).GetProperty("PreserveInvocationInfoOnce", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>Whether this engine has the member (false: errors get the usual suffixed id).</summary>
    internal static bool CanKeepErrorIds => PreserveInvocationInfoOnce?.PropertyType == typeof(bool);

    /// <summary>
    /// Makes <paramref name="record"/> keep its FullyQualifiedErrorId as given when a cmdlet writes it,
    /// as the engine's own remoting cmdlets write theirs (New-PSSession's <c>PSSessionOpenFailed</c>).
    /// Without the member (another engine) the record is left as it is.
    /// </summary>
    /// <param name="record">The record, before WriteError.</param>
    /// <returns>The same record.</returns>
    internal static ErrorRecord KeepErrorId(ErrorRecord record)
    {
        if (CanKeepErrorIds) PreserveInvocationInfoOnce!.SetValue(record, true);
        return record;
    }
}
