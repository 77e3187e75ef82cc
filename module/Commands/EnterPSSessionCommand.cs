using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using RemoteSessions;
using RemoteSessions.Native;
using RemoteSessions.Commands;
using RemoteSessions.PSSessions;
using PSSession = System.Management.Automation.Runspaces.PSSession;

// Windows' namespace and type name (RC/PushRunspaceCommand.cs), so error ids end as Windows' do:
// ",Microsoft.PowerShell.Commands.EnterPSSessionCommand". (This type shadows the engine's one of the same
// name inside this assembly only: CS0436.)
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// Enter-PSSession (spec/cmdlet-behaviour.md §2.8) with the engine's parameters. -ComputerName and
/// -ConnectionUri open a temporary session over the module's WinRS transport (as New-PSSession does),
/// marked, as the engine marks its own, so that Exit-PSSession closes it, and enter it with the engine's
/// own <c>Microsoft.PowerShell.Core\Enter-PSSession -Session</c>. Every other set is the engine's
/// Enter-PSSession, except that a disconnected WS-Management session is connected first, as on Windows.
/// </summary>
[Cmdlet(VerbsCommon.Enter, "PSSession", DefaultParameterSetName = ComputerNameSet,
    HelpUri = "https://go.microsoft.com/fwlink/?LinkID=2096695", RemotingCapability = RemotingCapability.OwnedByCommand)]
public sealed class EnterPSSessionCommand : PSCmdlet, IDisposable
{
    private const string ComputerNameSet = "ComputerName";

    [Parameter(ParameterSetName = "SSHHost", Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [ValidateNotNullOrEmpty]
    public Hashtable? Options { get; set; }

    [Parameter(ParameterSetName = "ComputerName", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Cn")]
    [ValidateNotNullOrEmpty]
    public string? ComputerName { get; set; }

    [Parameter(ParameterSetName = "Session", Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public PSSession? Session { get; set; }

    [Parameter(ParameterSetName = "Uri", Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("URI", "CU")]
    [ValidateNotNullOrEmpty]
    public Uri? ConnectionUri { get; set; }

    [Parameter(ParameterSetName = "InstanceId", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Guid InstanceId { get; set; }

    [Parameter(ParameterSetName = "Id", Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public int Id { get; set; }

    [Parameter(ParameterSetName = "Name", ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    public SwitchParameter EnableNetworkAccess { get; set; }

    [Parameter(ParameterSetName = "VMId", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("VMGuid")]
    [ValidateNotNullOrEmpty]
    public Guid VMId { get; set; }

    [Parameter(ParameterSetName = "VMName", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? VMName { get; set; }

    [Parameter(ParameterSetName = "ComputerName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "Uri", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMId", Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMName", Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter(ParameterSetName = "ContainerId", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ContainerId { get; set; }

    [Parameter(ParameterSetName = "ComputerName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "Uri", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "ContainerId", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMId", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMName", ValueFromPipelineByPropertyName = true)]
    public string? ConfigurationName { get; set; }

    [Parameter(ParameterSetName = "ContainerId")]
    public SwitchParameter RunAsAdministrator { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "SSHHost")]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    public SwitchParameter UseSSL { get; set; }

    [Parameter(ParameterSetName = "ComputerName", ValueFromPipelineByPropertyName = true)]
    public string? ApplicationName { get; set; }

    [Parameter(ParameterSetName = "Uri")]
    public SwitchParameter AllowRedirection { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    [ValidateNotNull]
    public PSSessionOption? SessionOption { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    public AuthenticationMechanism Authentication { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    public string? CertificateThumbprint { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [ValidateNotNullOrEmpty]
    public string? UserName { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [Alias("IdentityFilePath")]
    [ValidateNotNullOrEmpty]
    public string? KeyFilePath { get; set; }

    [Parameter(ParameterSetName = "SSHHost", ValueFromPipelineByPropertyName = true)]
    public string? Subsystem { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    public int ConnectingTimeout { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [ValidateSet("true")]
    public SwitchParameter SSHTransport { get; set; }

    private EngineCommand? _engine;
    private HashSet<string>? _boundAtBegin;

    private bool IsWsman => ParameterSetName is ComputerNameSet or "Uri";

    protected override void BeginProcessing()
    {
        if (IsWsman)
        {
            NewPSSessionOptionCommand.CheckIdleTimeout(NewPSSessionOptionCommand.Effective(this, SessionOption));
            return;
        }
        Hashtable bound = EngineCommand.Bound(this);
        _boundAtBegin = bound.Keys.Cast<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        _engine = new EngineCommand("Enter-PSSession", bound);
        _engine.Begin(this);
    }

    protected override void ProcessRecord()
    {
        if (!IsWsman)
        {
            if (DisconnectedTarget() is { } disconnected && !ConnectFirst(disconnected)) return;
            _engine!.Process(this, PipelineObject());
            return;
        }
        if (Temporary() is not { } session) return;
        // The engine's Enter-PSSession -Session, with the session as its pipeline input when this cmdlet
        // has pipeline input (-ComputerName from the pipeline), else as its parameter.
        Hashtable parameters = new(StringComparer.OrdinalIgnoreCase);
        if (!MyInvocation.ExpectingInput) parameters["Session"] = session;
        try
        {
            using var enter = new EngineCommand("Enter-PSSession", parameters);
            enter.Begin(this);
            enter.Process(this, session);
            enter.End();
        }
        finally
        {
            // Not entered (the engine refused, e.g. in a nested prompt, or the host cannot push a runspace):
            // the temporary session ends here, as the engine closes its own.
            if (!Entered(session))
            {
                try { session.Runspace.Close(); }
                catch (Exception e) when (e is System.Management.Automation.Remoting.PSRemotingTransportException or InvalidRunspaceStateException) { }
                session.Runspace.Dispose();
            }
        }
    }

    protected override void EndProcessing() => _engine?.End();

    public void Dispose() => _engine?.Dispose();

    // Opens the temporary session, as New-PSSession opens one, not in Get-PSSession until the engine's
    // Enter-PSSession puts it there, and closed by the host at Exit-PSSession. A session that does not
    // open writes the engine's CreateRemoteRunspaceFailed.
    private PSSession? Temporary()
    {
        var common = new WsmanConnection.Parameters(ConfigurationName, Credential, Authentication, CertificateThumbprint, SessionOption);
        WinRSConnectionInfo info;
        try
        {
            info = ConnectionUri is { } uri
                ? WsmanConnection.FromUri(this, common, uri)
                : WsmanConnection.Info(this, common, ComputerName!, UseSSL, Port, ApplicationName);
        }
        catch (ArgumentException e)
        {
            WriteError(new ErrorRecord(e, "CreateRemoteRunspaceFailed", ErrorCategory.InvalidArgument, (object?)ConnectionUri ?? ComputerName));
            return null;
        }
        var opened = WsmanConnection.Open(this, [info], 1, addToRepository: false)[0];
        if (opened.Session is not { } session)
        {
            WriteError(new ErrorRecord(opened.Error!, "CreateRemoteRunspaceFailed", ErrorCategory.InvalidArgument, (object?)ConnectionUri ?? ComputerName));
            return null;
        }
        EngineInternals.CloseOnPop(session.Runspace);
        ForgetWhenClosed(session);
        return session;
    }

    // The engine's Enter-PSSession -Session puts the session in Get-PSSession; its own temporary sessions
    // are never there. Once the host has closed this one (Exit-PSSession), an engine event of this
    // runspace takes it out again: the action runs on the runspace's own thread (the repository has no
    // public API, and a runspace's StateChanged handlers run on another thread).
    private void ForgetWhenClosed(PSSession session)
    {
        string id = $"RemoteSessions.EnterPSSession.{session.InstanceId}";
        var forget = ScriptBlock.Create($"Microsoft.PowerShell.Core\\Remove-PSSession -InstanceId {session.InstanceId} -ErrorAction Ignore");
        PSEventManager events = Events;
        events.SubscribeEvent(null, null, id, null, forget, supportEvent: true, forwardEvent: false, maxTriggerCount: 1);
        session.Runspace.StateChanged += (_, e) =>
        {
            if (e.RunspaceStateInfo.State == RunspaceState.Closed) events.GenerateEvent(id, null, [], null);
        };
    }

    // Whether the host now runs commands in the session. Cmdlet.Host is the engine's InternalHost, which
    // throws PSNotImplementedException when the real host does not support interactive sessions.
    private bool Entered(PSSession session)
    {
        try
        {
            return Host is IHostSupportsInteractiveSession host && host.IsRunspacePushed && host.Runspace == session.Runspace;
        }
        catch (PSNotImplementedException)
        {
            return false;
        }
    }

    // The pipeline object for the engine's command: the session when one was bound from the pipeline (by
    // value or by property name), else an object with the properties this cmdlet bound from the pipeline,
    // which the engine binds again by property name.
    // The WS-Management session -Session, -Id, -Name or -InstanceId names, when it is disconnected: as on
    // Windows, it is connected before it is entered (the engine cannot connect a session over the
    // module's transport).
    private PSSession? DisconnectedTarget()
    {
        IEnumerable<PSSession> Local() => InvokeCommand.InvokeScript("Microsoft.PowerShell.Core\\Get-PSSession").Select(o => o.BaseObject).OfType<PSSession>();
        PSSession? target = ParameterSetName switch
        {
            "Session" => Session,
            "Id" => Local().FirstOrDefault(s => s.Id == Id),
            "InstanceId" => Local().FirstOrDefault(s => s.InstanceId == InstanceId),
            "Name" => Local().FirstOrDefault(s => string.Equals(s.Name, Name, StringComparison.OrdinalIgnoreCase)),
            _ => null,
        };
        return target is { Runspace: { ConnectionInfo: WinRSConnectionInfo, RunspaceStateInfo.State: RunspaceState.Disconnected } } ? target : null;
    }

    // Connects a disconnected session of this PowerShell, or one Get-PSSession -ComputerName found on the
    // server; false (and the error written) when that fails.
    private bool ConnectFirst(PSSession session)
    {
        try
        {
            SessionSelection.ConnectDisconnected(this, session);
            return true;
        }
        catch (Exception e) when (e is RemoteSessionsException or RuntimeException or InvalidOperationException)
        {
            WriteError(new ErrorRecord(new RuntimeException($"The disconnected session {session.Name} could not be connected to be entered: {e.Message}", e),
                "EnterPSSessionConnectSessionFailed", ErrorCategory.InvalidOperation, session));
            return false;
        }
    }

    private object? PipelineObject()
    {
        if (!MyInvocation.ExpectingInput) return null;
        if (Session is not null && !_boundAtBegin!.Contains("Session")) return Session;
        var input = new PSObject();
        foreach (var (name, value) in MyInvocation.BoundParameters)
            if (!_boundAtBegin!.Contains(name)) input.Properties.Add(new PSNoteProperty(name, value));
        return input;
    }
}
