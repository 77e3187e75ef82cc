using System.Management.Automation;
using System.Reflection;

namespace RemoteSessions;

/// <summary>
/// The internal members of PowerShell's engine the cmdlets use besides the type accelerator table
/// (module/TypeAccelerators.cs), pinned to pwsh 7.6 LTS: tests/pester/WindowsFidelity.Tests.ps1 and
/// tests/pester/WsmanSessions.Tests.ps1 fail loudly when an update changes them.
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

    // RemoteRunspace.SetRunspaceState and RaiseRunspaceStateEvents (internal): the engine's own
    // Disconnect-/Connect-PSSession move a session between Opened and Disconnected with them; the public
    // API cannot, as those cmdlets and the transport's DisconnectAsync are internal or left out off Windows.
    private const BindingFlags Internal = BindingFlags.NonPublic | BindingFlags.Instance;
    private static readonly Type? RemoteRunspaceType = typeof(PSObject).Assembly.GetType("System.Management.Automation.RemoteRunspace");
    private static readonly MethodInfo? SetRunspaceState = RemoteRunspaceType?.GetMethod("SetRunspaceState", Internal, [typeof(System.Management.Automation.Runspaces.RunspaceState), typeof(Exception)]);
    private static readonly MethodInfo? RaiseRunspaceStateEvents = RemoteRunspaceType?.GetMethod("RaiseRunspaceStateEvents", Internal, Type.EmptyTypes);
    private static readonly PropertyInfo? Availability = RemoteRunspaceType?.GetProperty("RunspaceAvailability");

    /// <summary>Whether this engine has the members ShowDisconnected needs.</summary>
    internal static bool CanShowDisconnected => SetRunspaceState is not null && RaiseRunspaceStateEvents is not null && Availability?.SetMethod is not null;

    /// <summary>
    /// Shows a PowerShell session as Disconnected (Availability None), so the engine refuses to run
    /// commands in it with its own errors, or as Opened and Available again; the session's StateChanged
    /// handlers run. Throws NotSupportedException on an engine without the members.
    /// </summary>
    internal static void ShowDisconnected(System.Management.Automation.Runspaces.Runspace runspace, bool disconnected) =>
        ShowDisconnected(runspace, disconnected, disconnected ? System.Management.Automation.Runspaces.RunspaceAvailability.None : System.Management.Automation.Runspaces.RunspaceAvailability.Available);

    /// <summary>As ShowDisconnected(runspace, disconnected), with the
    /// Availability given (Busy: a server's session connected to another client).</summary>
    internal static void ShowDisconnected(System.Management.Automation.Runspaces.Runspace runspace, bool disconnected, System.Management.Automation.Runspaces.RunspaceAvailability availability)
    {
        if (!CanShowDisconnected || !RemoteRunspaceType!.IsInstanceOfType(runspace))
            throw new NotSupportedException("This PowerShell's engine cannot show a session as disconnected: RemoteSessions supports pwsh 7.6.");
        var state = disconnected ? System.Management.Automation.Runspaces.RunspaceState.Disconnected : System.Management.Automation.Runspaces.RunspaceState.Opened;
        SetRunspaceState!.Invoke(runspace, [state, null]);
        Availability!.SetValue(runspace, availability);
        RaiseRunspaceStateEvents!.Invoke(runspace, []);
    }

    // PSSession.ConfigurationName (a get-only property: its backing field) and Runspace.InstanceId (internal
    // setter): the engine sets both for its own WS-Management sessions; Get-PSSession -ComputerName builds
    // sessions for the server's shells, whose InstanceId is the shell's id.
    private static readonly FieldInfo? ConfigurationName = typeof(System.Management.Automation.Runspaces.PSSession).GetField("<ConfigurationName>k__BackingField", Internal);
    private static readonly PropertyInfo? InstanceId = typeof(System.Management.Automation.Runspaces.Runspace).GetProperty("InstanceId");

    /// <summary>Whether this engine has the setters <see cref="SetConfigurationName"/> and <see cref="SetInstanceId"/> need.</summary>
    internal static bool CanSetSessionIdentity => ConfigurationName?.FieldType == typeof(string) && InstanceId?.GetSetMethod(true) is not null;

    /// <summary>Shows <paramref name="name"/> as the session's ConfigurationName, as the engine's WS-Management sessions do; nothing on another engine.</summary>
    internal static void SetConfigurationName(System.Management.Automation.Runspaces.PSSession session, string name)
    {
        if (CanSetSessionIdentity) ConfigurationName!.SetValue(session, name);
    }

    /// <summary>Gives a runspace not yet opened the InstanceId of the server's session it stands for. Throws NotSupportedException on an engine without the setter.</summary>
    internal static void SetInstanceId(System.Management.Automation.Runspaces.Runspace runspace, Guid id)
    {
        if (!CanSetSessionIdentity) throw new NotSupportedException("This PowerShell's engine cannot show a server's session: RemoteSessions supports pwsh 7.6.");
        InstanceId!.GetSetMethod(true)!.Invoke(runspace, [id]);
    }

    /// <summary>
    /// Puts a runspace that was never opened but shown Disconnected (a server's session, see
    /// <see cref="SetInstanceId"/>) back in the BeforeOpen state, so that it can be opened. Throws
    /// NotSupportedException on an engine without the members.
    /// </summary>
    internal static void ShowNotOpened(System.Management.Automation.Runspaces.Runspace runspace)
    {
        if (!CanShowDisconnected || !RemoteRunspaceType!.IsInstanceOfType(runspace))
            throw new NotSupportedException("This PowerShell's engine cannot connect a server's session: RemoteSessions supports pwsh 7.6.");
        SetRunspaceState!.Invoke(runspace, [System.Management.Automation.Runspaces.RunspaceState.BeforeOpen, null]);
        RaiseRunspaceStateEvents!.Invoke(runspace, []);
    }

    /// <summary>Shows a session as Broken (Availability None), so the engine lets it be removed without
    /// reaching its server. Throws NotSupportedException on an engine without the members.</summary>
    internal static void ShowBroken(System.Management.Automation.Runspaces.Runspace runspace)
    {
        if (!CanShowDisconnected || !RemoteRunspaceType!.IsInstanceOfType(runspace))
            throw new NotSupportedException("This PowerShell's engine cannot show a session as broken: RemoteSessions supports pwsh 7.6.");
        SetRunspaceState!.Invoke(runspace, [System.Management.Automation.Runspaces.RunspaceState.Broken, null]);
        Availability!.SetValue(runspace, System.Management.Automation.Runspaces.RunspaceAvailability.None);
        RaiseRunspaceStateEvents!.Invoke(runspace, []);
    }

    // Runspace.DisconnectedOn and ExpiresOn (internal setters), which PSSession's DisconnectedOn and
    // ExpiresOn show; the engine sets them when it disconnects a session itself.
    private static readonly PropertyInfo? DisconnectedOn = typeof(System.Management.Automation.Runspaces.Runspace).GetProperty("DisconnectedOn");
    private static readonly PropertyInfo? ExpiresOn = typeof(System.Management.Automation.Runspaces.Runspace).GetProperty("ExpiresOn");

    /// <summary>Whether this engine has the setters <see cref="ShowDisconnectTimes"/> needs.</summary>
    internal static bool CanShowDisconnectTimes => DisconnectedOn?.GetSetMethod(true) is not null && ExpiresOn?.GetSetMethod(true) is not null;

    /// <summary>Shows when a session was disconnected and when the server will end it (both null once
    /// it is connected again); nothing on another engine.</summary>
    internal static void ShowDisconnectTimes(System.Management.Automation.Runspaces.Runspace runspace, DateTime? disconnectedOn, DateTime? expiresOn)
    {
        if (!CanShowDisconnectTimes) return;
        DisconnectedOn!.GetSetMethod(true)!.Invoke(runspace, [disconnectedOn]);
        ExpiresOn!.GetSetMethod(true)!.Invoke(runspace, [expiresOn]);
    }

    // RemoteRunspace.ShouldCloseOnPop (internal): the engine's Enter-PSSession -ComputerName sets it on the
    // temporary session it opens, so that the host closes the session at Exit-PSSession.
    private static readonly PropertyInfo? ShouldCloseOnPop = RemoteRunspaceType?.GetProperty("ShouldCloseOnPop", Internal);

    /// <summary>
    /// Marks a remote runspace so that the host closes it when Exit-PSSession pops it, as the engine marks
    /// Enter-PSSession's temporary sessions. Throws NotSupportedException on an engine without the member.
    /// </summary>
    internal static void CloseOnPop(System.Management.Automation.Runspaces.Runspace runspace)
    {
        if (ShouldCloseOnPop?.PropertyType != typeof(bool) || ShouldCloseOnPop.SetMethod is null || !RemoteRunspaceType!.IsInstanceOfType(runspace))
            throw new NotSupportedException("This PowerShell's engine cannot close a session at Exit-PSSession: RemoteSessions supports pwsh 7.6.");
        ShouldCloseOnPop.SetValue(runspace, true);
    }
}
