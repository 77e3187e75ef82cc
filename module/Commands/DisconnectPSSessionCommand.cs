using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using RemoteSessions.PSSessions;
using RemoteSessions;
using RemoteSessions.Commands;
using RemoteSessions.Native;
using PSSession = System.Management.Automation.Runspaces.PSSession;

// Windows' namespace and type names (RC/DisconnectPSSession.cs, RC/ConnectPSSession.cs), so error ids
// end as Windows' do; pwsh off Windows has neither cmdlet.
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// Disconnect-PSSession (spec/cmdlet-behaviour.md §2.9) for WS-Management sessions: the server keeps the
/// session, and what its commands write, for the idle timeout; the session shows State Disconnected and
/// Availability None until Connect-PSSession. Process and SSH sessions cannot disconnect (their server
/// ends with the connection) and get Windows' PSSessionDisconnectFailed.
/// </summary>
[Cmdlet(VerbsCommunications.Disconnect, "PSSession", SupportsShouldProcess = true, DefaultParameterSetName = SessionSet)]
[OutputType(typeof(PSSession))]
public sealed class DisconnectPSSessionCommand : PSCmdlet
{
    internal const string SessionSet = "Session";
    internal const string NameSet = "Name";
    internal const string IdSet = "Id";
    internal const string InstanceIdSet = "InstanceId";

    [Parameter(ParameterSetName = SessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    [Parameter(ParameterSetName = NameSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public int[]? Id { get; set; }

    [Parameter(ParameterSetName = InstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Guid[]? InstanceId { get; set; }

    /// <summary>Seconds the server keeps the disconnected session (at least 60); default: the session's own idle timeout.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int IdleTimeoutSec { get; set; } = -1;

    /// <summary>Accepted as on Windows; the server's own buffering mode applies.</summary>
    [Parameter]
    public OutputBufferingMode OutputBufferingMode { get; set; }

    [Parameter]
    public int ThrottleLimit { get; set; }

    protected override void BeginProcessing()
    {
        if (IdleTimeoutSec is >= 0 and < NewPSSessionOptionCommand.MinimumIdleTimeoutMs / 1000)
            ThrowTerminatingError(new ErrorRecord(
                new PSArgumentException($"The specified IdleTimeoutSec {IdleTimeoutSec} is not valid: the server keeps a disconnected session at least {NewPSSessionOptionCommand.MinimumIdleTimeoutMs / 1000} seconds."),
                "CannotDisconnectSessionWithInvalidIdleTimeout", ErrorCategory.InvalidArgument, IdleTimeoutSec));
    }

    protected override void ProcessRecord()
    {
        foreach (PSSession session in SessionSelection.Select(this, ParameterSetName, Session, Name, Id, InstanceId))
        {
            if (session.Runspace.RunspaceStateInfo.State == RunspaceState.Disconnected)
            {
                WriteObject(session);
                continue;
            }
            if (!ShouldProcess(session.Name, "Disconnect")) continue;
            if (session.Transport != "WSMan")
            {
                WriteError(new ErrorRecord(new InvalidOperationException(
                    $"Disconnect-PSSession operation failed for runspace Id = {session.InstanceId} for the following reason: The disconnection operation is not supported on the remote computer. " +
                    "To support disconnecting, the remote computer must be running Windows PowerShell 3.0 or a later version of Windows PowerShell and using the WSMan transport."),
                    "PSSessionDisconnectFailed", ErrorCategory.InvalidOperation, session));
                continue;
            }
            if (session.Runspace.RunspaceStateInfo.State != RunspaceState.Opened)
            {
                WriteError(new ErrorRecord(new InvalidOperationException(
                    $"The session {session.Name} cannot be disconnected because it is not in the Opened state (its state is {session.Runspace.RunspaceStateInfo.State})."),
                    "CannotDisconnectSessionWhenNotOpened", ErrorCategory.InvalidOperation, session));
                continue;
            }
            try
            {
                using RemoteSessions.Native.PSSession native = SessionSelection.NativeOf(session);
                native.Disconnect(IdleTimeoutSec > 0 ? (uint)Math.Min((long)IdleTimeoutSec * 1000, uint.MaxValue) : 0);
                // The session's IdleTimeout (ms) is the one given, else the one it was opened with.
                if (IdleTimeoutSec > 0) session.Runspace.ConnectionInfo.IdleTimeout = (int)Math.Min((long)IdleTimeoutSec * 1000, int.MaxValue);
                int idleMs = session.Runspace.ConnectionInfo.IdleTimeout;
                DateTime now = DateTime.Now;
                EngineInternals.ShowDisconnectTimes(session.Runspace, now, idleMs > 0 ? now.AddMilliseconds(idleMs) : null);
                EngineInternals.ShowDisconnected(session.Runspace, disconnected: true);
                WriteObject(session);
            }
            catch (RemoteSessionsException e)
            {
                WriteError(new ErrorRecord(new InvalidOperationException(
                    $"Disconnect-PSSession operation failed for runspace Id = {session.InstanceId} for the following reason: {e.Message}", e),
                    "PSSessionDisconnectFailed", ErrorCategory.InvalidOperation, session));
            }
        }
    }
}

/// <summary>
/// Connect-PSSession (spec/cmdlet-behaviour.md §2.9). For sessions Disconnect-PSSession left in this
/// PowerShell, the shell is reconnected, the session shows Opened and Available again, and what its
/// commands wrote meanwhile arrives (a job started with Invoke-Command -AsJob goes on receiving). For a
/// session Get-PSSession -ComputerName found on the server (another client's or another PowerShell's),
/// this PowerShell connects to its runspace pool, so the variables and state the server kept are there,
/// and the session joins Get-PSSession; what its commands wrote meanwhile is Receive-PSSession's.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "PSSession", SupportsShouldProcess = true, DefaultParameterSetName = DisconnectPSSessionCommand.NameSet)]
[OutputType(typeof(PSSession))]
public sealed class ConnectPSSessionCommand : PSCmdlet
{
    private const string ComputerNameSet = "ComputerName";
    private const string ComputerNameGuidSet = "ComputerNameGuid";
    private const string UriSet = "ConnectionUri";
    private const string UriGuidSet = "ConnectionUriGuid";

    [Parameter(ParameterSetName = DisconnectPSSessionCommand.SessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    /// <summary>Computers whose sessions (all of the user's, or those -Name or -InstanceId select) are connected.</summary>
    [Parameter(ParameterSetName = ComputerNameSet, Mandatory = true, Position = 0)]
    [Parameter(ParameterSetName = ComputerNameGuidSet, Mandatory = true)]
    [Alias("Cn")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerNameGuidSet, ValueFromPipelineByPropertyName = true)]
    public string? ApplicationName { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerNameGuidSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriGuidSet, ValueFromPipelineByPropertyName = true)]
    public string? ConfigurationName { get; set; }

    [Parameter(ParameterSetName = UriSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriGuidSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("URI", "CU")]
    [ValidateNotNullOrEmpty]
    public Uri[]? ConnectionUri { get; set; }

    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriGuidSet)]
    public SwitchParameter AllowRedirection { get; set; }

    [Parameter(ParameterSetName = DisconnectPSSessionCommand.NameSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(ParameterSetName = DisconnectPSSessionCommand.IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public int[]? Id { get; set; }

    [Parameter(ParameterSetName = DisconnectPSSessionCommand.InstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerNameGuidSet, Mandatory = true)]
    [Parameter(ParameterSetName = UriGuidSet, Mandatory = true)]
    [ValidateNotNull]
    public Guid[]? InstanceId { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerNameGuidSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriGuidSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerNameGuidSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriGuidSet)]
    public AuthenticationMechanism Authentication { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerNameGuidSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriGuidSet)]
    public string? CertificateThumbprint { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerNameGuidSet)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerNameGuidSet)]
    public SwitchParameter UseSSL { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerNameGuidSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriGuidSet)]
    public PSSessionOption? SessionOption { get; set; }

    [Parameter]
    public int ThrottleLimit { get; set; }

    protected override void ProcessRecord()
    {
        IEnumerable<PSSession> sessions = ParameterSetName is ComputerNameSet or ComputerNameGuidSet or UriSet or UriGuidSet
            ? OnServers()
            : SessionSelection.Select(this, ParameterSetName, Session, Name, Id, InstanceId);
        foreach (PSSession session in sessions)
        {
            if (ShouldProcess(session.Name, "Connect")) Connect(session);
        }
    }

    // As Windows: an open session is written as it is; only a disconnected one that is available (not
    // connected to another client) is connected.
    private void Connect(PSSession session)
    {
        RunspaceState state = session.Runspace.RunspaceStateInfo.State;
        if (state == RunspaceState.Opened)
        {
            WriteObject(session);
            return;
        }
        if (state != RunspaceState.Disconnected || session.Runspace.RunspaceAvailability != RunspaceAvailability.None)
        {
            WriteError(new ErrorRecord(new RuntimeException(
                $"Cannot connect PSSession \"{session.Name}\", either because it is not in the Disconnected state, or it is not available for connection."),
                "PSSessionConnectFailed", ErrorCategory.InvalidOperation, session));
            return;
        }
        try
        {
            if (WsmanConnection.IsServerSession(session))
            {
                // A session Get-PSSession -ComputerName found on the server (another client's, or another
                // PowerShell's): this PowerShell connects to it and it joins Get-PSSession.
                WriteObject(WsmanConnection.Connect(this, session));
                return;
            }
            SessionSelection.Reconnect(session);
            WriteObject(session);
        }
        catch (Exception e) when (e is RemoteSessionsException or RuntimeException or InvalidOperationException)
        {
            WriteError(new ErrorRecord(new InvalidOperationException(
                $"Connecting to the disconnected session {session.Name} on {session.ComputerName} failed: {e.Message}", e),
                "PSSessionConnectFailed", ErrorCategory.OpenError, session));
        }
    }

    // -ComputerName/-ConnectionUri: the user's sessions on each server, those -Name or -InstanceId select.
    private IEnumerable<PSSession> OnServers()
    {
        var common = new WsmanConnection.Parameters(ConfigurationName, Credential, Authentication, CertificateThumbprint, SessionOption);
        var targets = new List<WinRSConnectionInfo>();
        foreach (string computer in ComputerName ?? [])
            targets.Add(WsmanConnection.Info(this, common, computer, UseSSL, Port, ApplicationName));
        foreach (Uri uri in ConnectionUri ?? [])
        {
            try
            {
                targets.Add(WsmanConnection.FromUri(this, common, uri));
            }
            catch (ArgumentException e)
            {
                WriteError(new ErrorRecord(e, "InvalidConnectionUri", ErrorCategory.InvalidArgument, uri));
            }
        }
        var found = new List<PSSession>();
        foreach (WinRSConnectionInfo info in targets)
        {
            List<PSSession> sessions;
            try
            {
                sessions = WsmanConnection.SessionsOnServer(this, info, ConfigurationName);
            }
            catch (RemoteSessionsException e)
            {
                WriteError(new ErrorRecord(new RuntimeException($"Cannot get the sessions of the remote computer {info.ComputerName}: {e.Message}", e),
                    "RemotePSSessionQueryFailed", ErrorCategory.InvalidOperation, info));
                continue;
            }
            foreach (string name in Name ?? [])
            {
                var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
                if (!WildcardPattern.ContainsWildcardCharacters(name) && !sessions.Any(s => pattern.IsMatch(s.Name)))
                    WriteError(new ErrorRecord(new ArgumentException($"The remote computer {info.ComputerName} has no session named {name} for this user."),
                        "RemoteRunspaceNotAvailableForSpecifiedName", ErrorCategory.InvalidArgument, name));
            }
            foreach (Guid id in InstanceId ?? [])
            {
                if (!sessions.Any(s => s.InstanceId == id))
                    WriteError(new ErrorRecord(new ArgumentException($"The remote computer {info.ComputerName} has no session with InstanceId {id} for this user."),
                        "RemoteRunspaceNotAvailableForSpecifiedRunspaceId", ErrorCategory.InvalidArgument, id));
            }
            found.AddRange(sessions.Where(s =>
                (Name is null || Name.Any(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase).IsMatch(s.Name))) &&
                (InstanceId is null || InstanceId.Contains(s.InstanceId))));
        }
        return found;
    }
}

/// <summary>The sessions of this runspace a -Session, -Name, -Id or -InstanceId selects, with Windows' "not available" errors.</summary>
internal static class SessionSelection
{
    internal static IEnumerable<PSSession> Select(PSCmdlet cmdlet, string set, PSSession[]? sessions, string[]? names, int[]? ids, Guid[]? instanceIds)
    {
        if (set == DisconnectPSSessionCommand.SessionSet) return sessions!;
        var all = cmdlet.InvokeCommand.InvokeScript("Microsoft.PowerShell.Core\\Get-PSSession").Select(o => o.BaseObject).OfType<PSSession>().ToList();
        var found = new List<PSSession>();
        void Add(IEnumerable<PSSession> matches, bool missing, string message, string id, object target)
        {
            if (missing) cmdlet.WriteError(new ErrorRecord(new ArgumentException(message), id, ErrorCategory.InvalidArgument, target));
            found.AddRange(matches.Where(m => !found.Contains(m)));
        }
        foreach (string name in names ?? [])
        {
            var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
            var matches = all.Where(s => pattern.IsMatch(s.Name)).ToList();
            Add(matches, matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name),
                $"The remote session with the name {name}  is not available.", "RemoteRunspaceNotAvailableForSpecifiedName", name);
        }
        foreach (int id in ids ?? [])
        {
            var matches = all.Where(s => s.Id == id).ToList();
            Add(matches, matches.Count == 0, $"The remote session with the session ID {id} is not available.", "RemoteRunspaceNotAvailableForSpecifiedSessionId", id);
        }
        foreach (Guid instanceId in instanceIds ?? [])
        {
            var matches = all.Where(s => s.InstanceId == instanceId).ToList();
            Add(matches, matches.Count == 0, $"Remote session is not available for {instanceId}.", "RemoteRunspaceNotAvailableForSpecifiedRunspaceId", instanceId);
        }
        return found;
    }

    /// <summary>
    /// Reconnects a session of this PowerShell that Disconnect-PSSession left: its shell is reconnected
    /// and it shows Opened and Available again, so its jobs go on receiving. Throws RemoteSessionsException
    /// (NotFound for a session this module did not open, or whose shell the server no longer has; what
    /// the server refused with).
    /// </summary>
    internal static void Reconnect(PSSession session)
    {
        using RemoteSessions.Native.PSSession native = NativeOf(session);
        native.Reconnect();
        EngineInternals.ShowDisconnectTimes(session.Runspace, null, null);
        EngineInternals.ShowDisconnected(session.Runspace, disconnected: false);
    }

    /// <summary>
    /// Connects a disconnected WS-Management session: one Get-PSSession -ComputerName found on the server
    /// (<see cref="WsmanConnection.Connect"/>, it then joins Get-PSSession) or one of this PowerShell
    /// (<see cref="Reconnect"/>). Throws what those throw.
    /// </summary>
    internal static void ConnectDisconnected(PSCmdlet cmdlet, PSSession session)
    {
        if (WsmanConnection.IsServerSession(session)) WsmanConnection.Connect(cmdlet, session);
        else Reconnect(session);
    }

    /// <summary>The library's record of a session this module opened. Throws RemoteSessionsException (NotFound) for another session.</summary>
    internal static RemoteSessions.Native.PSSession NativeOf(PSSession session)
    {
        var (found, _) = RunspaceSessions.Current.Scope.FindPSSessions(Lookup.InstanceId, [session.InstanceId.ToString()]);
        return found.Count > 0
            ? found[0]
            : throw new RemoteSessionsException(ResultCode.NotFound, $"The session {session.Name} was not opened by RemoteSessions' New-PSSession.");
    }
}
