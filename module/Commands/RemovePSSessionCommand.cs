using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteSessions;
using RemoteSessions.Native;
using RemoteSessions.PSSessions;
using PSSession = System.Management.Automation.Runspaces.PSSession;

// Windows' namespace and type name (RC/removerunspacecommand.cs), so error ids end as Windows' do.
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// Remove-PSSession (spec/cmdlet-behaviour.md §2.6): the engine's own cmdlet, run with the parameters
/// given, after what Windows' does first for a disconnected WS-Management session: reconnect it, so that
/// closing it ends it on the server (another client's session, from Get-PSSession -ComputerName, is
/// connected and closed by the library). One that cannot be reconnected (its idle timeout passed, the
/// server is gone) gets Windows' RemoveSessionCannotConnectToServer and is removed here all the same.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PSSession", SupportsShouldProcess = true, DefaultParameterSetName = IdSet)]
public sealed class RemovePSSessionCommand : PSCmdlet
{
    private const string IdSet = "Id";
    private const string SessionSet = "Session";
    private const string InstanceIdSet = "InstanceId";
    private const string NameSet = "Name";
    private const string ComputerNameSet = "ComputerName";
    private const string ContainerIdSet = "ContainerId";
    private const string VMIdSet = "VMId";
    private const string VMNameSet = "VMName";

    [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public int[]? Id { get; set; }

    [Parameter(ParameterSetName = SessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    [Parameter(ParameterSetName = InstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Guid[]? InstanceId { get; set; }

    [Parameter(ParameterSetName = NameSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Cn")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = ContainerIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? ContainerId { get; set; }

    [Parameter(ParameterSetName = VMIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("VMGuid")]
    public Guid[]? VMId { get; set; }

    [Parameter(ParameterSetName = VMNameSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? VMName { get; set; }

    private EngineCommand? _engine;
    private System.Collections.Hashtable? _commandLine;

    protected override void BeginProcessing()
    {
        _commandLine = EngineCommand.Bound(this);
        _engine = new EngineCommand("Remove-PSSession", _commandLine);
        _engine.Begin(this);
    }

    protected override void ProcessRecord()
    {
        if (!MyInvocation.BoundParameters.ContainsKey("WhatIf"))
            foreach (PSSession session in Targets().Where(s => s.Runspace.RunspaceStateInfo.State == RunspaceState.Disconnected && s.Runspace.ConnectionInfo is WinRSConnectionInfo))
                Reconnect(session);
        _engine!.Process(this, EngineCommand.PipelineObject(this, _commandLine!));
    }

    protected override void EndProcessing() => _engine?.End();

    protected override void StopProcessing() => _engine?.Dispose();

    // The sessions of this runspace the parameters name (misses are the engine's to report).
    private IEnumerable<PSSession> Targets()
    {
        if (ParameterSetName == SessionSet) return Session!;
        var all = InvokeCommand.InvokeScript("Microsoft.PowerShell.Core\\Get-PSSession").Select(o => o.BaseObject).OfType<PSSession>();
        return ParameterSetName switch
        {
            IdSet => all.Where(s => Id!.Contains(s.Id)),
            InstanceIdSet => all.Where(s => InstanceId!.Contains(s.InstanceId)),
            NameSet => all.Where(s => Name!.Any(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase).IsMatch(s.Name))),
            ComputerNameSet => all.Where(s => ComputerName!.Any(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase).IsMatch(s.ComputerName))),
            _ => [],
        };
    }

    // This PowerShell's own disconnected session is reconnected; another client's (from Get-PSSession
    // -ComputerName) is connected by the library and closed, which ends it on the server.
    private void Reconnect(PSSession session)
    {
        try
        {
            if (RunspaceSessions.Current.Scope.FindPSSessions(Lookup.InstanceId, [session.InstanceId.ToString()]).Found is [var native, ..])
            {
                using (native)
                {
                    try
                    {
                        native.Reconnect();
                        EngineInternals.ShowDisconnected(session.Runspace, disconnected: false);
                        return;
                    }
                    catch (RemoteSessionsException)
                    {
                        // Another client connected to it meanwhile (Receive-PSSession elsewhere): this
                        // one can no longer reconnect, but a new connection can end it.
                        RunspaceSessions.Current.Scope.RemovePSSession(native);
                    }
                }
            }
            var info = (WinRSConnectionInfo)session.Runspace.ConnectionInfo;
            using PsrpTransport transport = PsrpTransport.ConnectWsman(info.ComputerName, info.ConfigurationName, session.InstanceId.ToString(), info.SessionOptions(), info.NativeCredential());
            using RemoteSessions.Native.PSSession connected = RunspaceSessions.Temporary.ConnectPSSession(transport, session.Name);
            RunspaceSessions.Temporary.RemovePSSession(connected);
            EngineInternals.ShowBroken(session.Runspace);
        }
        catch (RemoteSessionsException e)
        {
            WriteError(new ErrorRecord(new InvalidOperationException(
                $"Remote session {session.Name} could not be connected and could not be removed from the server: {e.Message}", e),
                "RemoveSessionCannotConnectToServer", ErrorCategory.InvalidOperation, session));
            EngineInternals.ShowBroken(session.Runspace);
        }
    }
}
