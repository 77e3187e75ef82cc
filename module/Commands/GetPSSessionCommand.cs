using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using RemoteSessions;
using RemoteSessions.Commands;
using RemoteSessions.Native;
using RemoteSessions.PSSessions;
using PSSession = System.Management.Automation.Runspaces.PSSession;

// Windows' namespace and type name (RC/getrunspacecommand.cs), so error ids end as Windows' do.
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// Get-PSSession (spec/cmdlet-behaviour.md §2.5). The local sets (none, -Name, -Id, -InstanceId) are the
/// engine's own cmdlet, run as it is. -ComputerName and -ConnectionUri ask WS-Management servers for the
/// user's PowerShell sessions (an Enumerate of shells), which pwsh refuses off Windows: sessions of this
/// PowerShell come back as they are, those of other clients as PSSession objects (Disconnected when the
/// server says so) that are not put in the session list.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PSSession", DefaultParameterSetName = NameSet)]
[OutputType(typeof(PSSession))]
public sealed class GetPSSessionCommand : PSCmdlet
{
    private const string NameSet = "Name";
    private const string IdSet = "Id";
    private const string InstanceIdSet = "InstanceId";
    private const string ComputerNameSet = "ComputerName";
    private const string ComputerInstanceIdSet = "ComputerInstanceId";
    private const string UriSet = "ConnectionUri";
    private const string UriInstanceIdSet = "ConnectionUriInstanceId";

    [Parameter(ParameterSetName = ComputerNameSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Cn")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet, ValueFromPipelineByPropertyName = true)]
    public string? ApplicationName { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriInstanceIdSet, ValueFromPipelineByPropertyName = true)]
    public string? ConfigurationName { get; set; }

    [Parameter(ParameterSetName = UriSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriInstanceIdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("URI", "CU")]
    [ValidateNotNullOrEmpty]
    public Uri[]? ConnectionUri { get; set; }

    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public SwitchParameter AllowRedirection { get; set; }

    [Parameter(ParameterSetName = NameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public int[]? Id { get; set; }

    [Parameter(ParameterSetName = InstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriInstanceIdSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Guid[]? InstanceId { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public AuthenticationMechanism Authentication { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public string? CertificateThumbprint { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    public SwitchParameter UseSSL { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public int ThrottleLimit { get; set; }

    /// <summary>Only sessions in this state (All by default).</summary>
    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public SessionFilterState State { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public PSSessionOption? SessionOption { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName is NameSet or IdSet or InstanceIdSet)
        {
            LocalSessions();
            return;
        }
        var common = new WsmanConnection.Parameters(ConfigurationName, Credential, Authentication, CertificateThumbprint, SessionOption);
        IEnumerable<WinRSConnectionInfo> targets = ComputerName is { } computers
            ? computers.Select(c => WsmanConnection.Info(this, common, c, UseSSL, Port, ApplicationName))
            : ConnectionUri!.Select(u => WsmanConnection.FromUri(this, common, u));
        foreach (WinRSConnectionInfo info in targets) RemoteSessions(info);
    }

    // The engine's own Get-PSSession, with the parameters given: its output and its errors, as they are.
    private void LocalSessions()
    {
        var engine = ScriptBlock.Create("param($p) Microsoft.PowerShell.Core\\Get-PSSession @p");
        var bound = new Dictionary<string, object>(MyInvocation.BoundParameters, StringComparer.OrdinalIgnoreCase);
        SteppablePipeline pipeline = engine.GetSteppablePipeline(CommandOrigin.Internal, [bound]);
        pipeline.Begin(this);
        pipeline.Process();
        pipeline.End();
    }

    private void RemoteSessions(WinRSConnectionInfo info)
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
            return;
        }
        foreach (PSSession session in sessions)
        {
            if (InstanceId is { } ids && !ids.Contains(session.InstanceId)) continue;
            if (Name is { } names && !names.Any(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase).IsMatch(session.Name ?? ""))) continue;
            if (!Wanted(session.Runspace.RunspaceStateInfo.State)) continue;
            WriteObject(session);
        }
    }

    private bool Wanted(RunspaceState state) => State switch
    {
        SessionFilterState.Opened => state == RunspaceState.Opened,
        SessionFilterState.Disconnected => state == RunspaceState.Disconnected,
        SessionFilterState.Closed => state == RunspaceState.Closed,
        SessionFilterState.Broken => state == RunspaceState.Broken,
        _ => true,
    };
}
