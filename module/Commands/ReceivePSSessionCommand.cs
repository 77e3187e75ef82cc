using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using RemoteSessions;
using RemoteSessions.Commands;
using RemoteSessions.Native;
using RemoteSessions.PSSessions;
using PSSession = System.Management.Automation.Runspaces.PSSession;

// Windows' namespace and type name (RC/ReceivePSSession.cs), so error ids end as Windows' do; pwsh off
// Windows has no Receive-PSSession.
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// Receive-PSSession (spec/cmdlet-behaviour.md §2.9): the output of the commands that ran on in a
/// disconnected WS-Management session, from this PowerShell or another one. The library connects to the
/// session on the server (MS-PSRP's CONNECT_RUNSPACEPOOL in a WinRS Connect), takes up each of its
/// commands and writes what they wrote — objects (deserialized with PSSerializer, with PSComputerName,
/// RunspaceId and PSShowComputerName as Invoke-Command writes them) and their error, warning, verbose,
/// debug and information records — then lets the library's connection go (disconnecting it) and, as
/// on Windows, connects this PowerShell to the session, which joins Get-PSSession with the state the
/// server kept. For a session of this PowerShell whose commands have Invoke-Command -AsJob jobs, as on
/// Windows, a disconnected session is connected again and the jobs are written (-OutTarget Default or
/// Job), or what they receive, to their end (Host). Not as on Windows: -OutTarget Job is refused for
/// a session without such jobs.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "PSSession", DefaultParameterSetName = SessionSet)]
public sealed class ReceivePSSessionCommand : PSCmdlet
{
    private const string SessionSet = "Session";
    private const string ComputerSessionNameSet = "ComputerSessionName";
    private const string ComputerInstanceIdSet = "ComputerInstanceId";
    private const string UriSessionNameSet = "ConnectionUriSessionName";
    private const string UriInstanceIdSet = "ConnectionUriInstanceId";

    [Parameter(ParameterSetName = SessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public PSSession? Session { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet, Mandatory = true, Position = 0)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet, Mandatory = true, Position = 0)]
    [Alias("Cn")]
    [ValidateNotNullOrEmpty]
    public string? ComputerName { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    public string? ApplicationName { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSessionNameSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public string? ConfigurationName { get; set; }

    [Parameter(ParameterSetName = UriSessionNameSet, Mandatory = true, Position = 0)]
    [Parameter(ParameterSetName = UriInstanceIdSet, Mandatory = true, Position = 0)]
    [Alias("URI", "CU")]
    [ValidateNotNull]
    public Uri? ConnectionUri { get; set; }

    [Parameter(ParameterSetName = UriSessionNameSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public SwitchParameter AllowRedirection { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet, Mandatory = true)]
    [Parameter(ParameterSetName = UriSessionNameSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = ComputerInstanceIdSet, Mandatory = true)]
    [Parameter(ParameterSetName = UriInstanceIdSet, Mandatory = true)]
    public Guid InstanceId { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSessionNameSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSessionNameSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public AuthenticationMechanism Authentication { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSessionNameSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public string? CertificateThumbprint { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    public SwitchParameter UseSSL { get; set; }

    [Parameter(ParameterSetName = ComputerSessionNameSet)]
    [Parameter(ParameterSetName = ComputerInstanceIdSet)]
    [Parameter(ParameterSetName = UriSessionNameSet)]
    [Parameter(ParameterSetName = UriInstanceIdSet)]
    public PSSessionOption? SessionOption { get; set; }

    /// <summary>Host (the default here) writes the output; Job is not available (see the cmdlet's remarks).</summary>
    [Parameter]
    public OutTarget OutTarget { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? JobName { get; set; }

    protected override void ProcessRecord()
    {
        PSSession? session = ParameterSetName == SessionSet ? Session : FindOnServer();
        if (session is not null) ReceiveFrom(session);
    }

    // A PSSession object: one of Get-PSSession -ComputerName (another client's), or of this PowerShell.
    // One of this PowerShell whose commands were started with Invoke-Command -Session -AsJob has their
    // jobs: as on Windows, a disconnected one is connected again, and the jobs are written (-OutTarget
    // Default or Job) or what they receive is (Host). Otherwise the library reads the output of the
    // commands that ran while it was disconnected, and this PowerShell is then connected to the session.
    private void ReceiveFrom(PSSession session)
    {
        if (session.Runspace.ConnectionInfo is not WinRSConnectionInfo info)
        {
            WriteError(new ErrorRecord(new InvalidOperationException(
                $"The session {session.Name} is not a WS-Management session: only those keep running commands while disconnected."),
                "ReceivePSSessionNotWSMan", ErrorCategory.InvalidOperation, session));
            return;
        }
        bool disconnected = session.Runspace.RunspaceStateInfo.State == RunspaceState.Disconnected;
        List<(Job Job, List<Job> Children)> jobs = JobsOf(session);
        if (jobs.Count > 0)
        {
            if (disconnected && !Connect(session)) return;
            foreach (var (job, children) in jobs)
            {
                if (OutTarget == OutTarget.Host) children.ForEach(ReceiveJob);
                else WriteObject(job);
            }
            return;
        }
        // An open session of this PowerShell without jobs: its commands' output went to their callers.
        if (!disconnected) return;
        // The library reads the output here; only the jobs of this PowerShell's sessions can be written.
        if (OutTarget == OutTarget.Job)
            ThrowTerminatingError(new ErrorRecord(new PSNotSupportedException(
                "Receive-PSSession -OutTarget Job is only available with RemoteSessions for a session of this PowerShell whose commands have Invoke-Command jobs: " +
                "the output of this session is written to the pipeline (-OutTarget Host)."),
                "ReceivePSSessionOutTargetJobNotSupported", ErrorCategory.NotImplemented, OutTarget));
        if (Receive(info, session.InstanceId, session.Name)) Connect(session);
    }

    // Connects this PowerShell to the disconnected session, as Windows leaves a received session:
    // one Get-PSSession -ComputerName found on the server joins Get-PSSession; one of this PowerShell
    // is reconnected. False (and the error written) when that fails.
    private bool Connect(PSSession session)
    {
        try
        {
            SessionSelection.ConnectDisconnected(this, session);
            return true;
        }
        catch (Exception e) when (e is RemoteSessionsException or RuntimeException or InvalidOperationException)
        {
            WriteError(new ErrorRecord(new InvalidOperationException($"Connecting this PowerShell to the session {session.Name} on {session.ComputerName} failed: {e.Message}", e),
                "ReceivePSSessionCannotConnectSession", ErrorCategory.OpenError, session));
            return false;
        }
    }

    // The Invoke-Command jobs with child jobs that run in the session (PSRemotingChildJob.Runspace, a
    // public property of the engine's internal job type) and may still have something to give, oldest
    // first, with those child jobs.
    private List<(Job, List<Job>)> JobsOf(PSSession session) =>
        JobRepository.Jobs
            .OrderBy(j => j.Id)
            .Select(j => (j, j.ChildJobs
                .Where(c => PSObject.AsPSObject(c).Properties["Runspace"]?.Value is Runspace r && r == session.Runspace)
                .Where(c => c.HasMoreData || !IsFinished(c.JobStateInfo.State))
                .ToList()))
            .Where(pair => pair.Item2.Count > 0)
            .ToList();

    private static bool IsFinished(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Stopped;

    // What the job wrote and writes until it ends, through the engine's Receive-Job -Wait: objects, and
    // errors and other records as they are.
    private void ReceiveJob(Job job)
    {
        var engine = ScriptBlock.Create("param($j) Microsoft.PowerShell.Core\\Receive-Job -Job $j -Wait");
        SteppablePipeline pipeline = engine.GetSteppablePipeline(CommandOrigin.Internal, [job]);
        pipeline.Begin(this);
        pipeline.Process();
        pipeline.End();
    }

    // -ComputerName/-ConnectionUri with -Name or -InstanceId: the session, looked up on the server (this
    // PowerShell's own session object when it has one). As on Windows one session is taken: of two with
    // the name, the disconnected one.
    private PSSession? FindOnServer()
    {
        var common = new WsmanConnection.Parameters(ConfigurationName, Credential, Authentication, CertificateThumbprint, SessionOption);
        WinRSConnectionInfo info = ComputerName is { } computer
            ? WsmanConnection.Info(this, common, computer, UseSSL, Port, ApplicationName)
            : WsmanConnection.FromUri(this, common, ConnectionUri!);
        List<PSSession> sessions;
        try
        {
            sessions = WsmanConnection.SessionsOnServer(this, info, ConfigurationName);
        }
        catch (RemoteSessionsException e)
        {
            WriteError(new ErrorRecord(new RuntimeException($"Cannot get the sessions of the remote computer {info.ComputerName}: {e.Message}", e),
                "ReceivePSSessionQueryForSessionFailed", ErrorCategory.InvalidOperation, info));
            return null;
        }
        PSSession? found = sessions
            .Where(s => Name is { } n ? string.Equals(s.Name, n, StringComparison.OrdinalIgnoreCase) : s.InstanceId == InstanceId)
            .OrderBy(s => s.Runspace.RunspaceStateInfo.State == RunspaceState.Disconnected ? 0 : 1)
            .FirstOrDefault();
        if (found is null)
        {
            string what = Name is { } n ? $"named {n}" : $"with InstanceId {InstanceId}";
            WriteError(new ErrorRecord(new ArgumentException($"The remote computer {info.ComputerName} has no session {what} for this user."),
                "ReceivePSSessionCannotFindSession", ErrorCategory.ObjectNotFound, Name ?? (object)InstanceId));
        }
        return found;
    }

    // Whether the output was received (else the error is written).
    private bool Receive(WinRSConnectionInfo info, Guid shellId, string name)
    {
        RemoteSessions.Native.PSSession? session = null;
        try
        {
            IReadOnlyList<Guid> commands = WsmanShell.Commands(info.ComputerName, shellId.ToString().ToUpperInvariant(), info.SessionOptions(), info.NativeCredential());
            using PsrpTransport transport = PsrpTransport.ConnectWsman(info.ComputerName, info.ConfigurationName, shellId.ToString(), info.SessionOptions(), info.NativeCredential());
            session = RunspaceSessions.Temporary.ConnectPSSession(transport, name.Length > 0 ? name : null);
            foreach (Guid command in commands)
            {
                using PSPipeline pipeline = session.Attach(command);
                foreach (PSStreamItem item in pipeline.ReadAll())
                {
                    using (item) Write(item, info.ComputerName, shellId);
                }
            }
            session.Disconnect();
            return true;
        }
        catch (RemoteSessionsException e)
        {
            WriteError(new ErrorRecord(new RuntimeException($"Receiving the output of session {name} on {info.ComputerName} failed: {e.Message}", e),
                "ReceivePSSessionFailed", ErrorCategory.OpenError, name));
            return false;
        }
        finally
        {
            if (session is not null)
            {
                // A disconnected session is only let go: the server keeps it for the next client.
                RunspaceSessions.Temporary.RemovePSSession(session);
                session.Dispose();
            }
        }
    }

    private void Write(PSStreamItem item, string computer, Guid runspaceId)
    {
        object? value = PSSerializer.Deserialize(Clixml(item.Value));
        switch (item.Stream)
        {
            case PSStream.Output:
                var shown = PSObject.AsPSObject(value ?? new object());
                shown.Properties.Add(new PSNoteProperty("PSComputerName", computer));
                shown.Properties.Add(new PSNoteProperty("RunspaceId", runspaceId));
                shown.Properties.Add(new PSNoteProperty("PSShowComputerName", true));
                WriteObject(value is null ? null : shown);
                break;
            case PSStream.Error when value is PSObject record:
                // The remote error's own id, without this cmdlet's name, as Invoke-Command writes it.
                WriteError(EngineInternals.KeepErrorId(new RemotingErrorRecord(Rehydrated(record), new OriginInfo(computer, runspaceId))));
                break;
            case PSStream.Warning:
                WriteWarning(item.Text);
                break;
            case PSStream.Verbose:
                WriteVerbose(item.Text);
                break;
            case PSStream.Debug:
                WriteDebug(item.Text);
                break;
            case PSStream.Information when Unwrap(value) is InformationRecord information:
                WriteInformation(information);
                break;
            default:
                WriteObject(value);
                break;
        }
    }

    // An error record as PSSerializer gives it back (a property bag of type
    // Deserialized.System.Management.Automation.ErrorRecord) made a live ErrorRecord again: the
    // exception's message and type name, the FullyQualifiedErrorId, category and target.
    private static ErrorRecord Rehydrated(PSObject record)
    {
        object? Property(PSObject o, string name) => o.Properties[name]?.Value;
        string message = (Property(record, "Exception") as PSObject is { } ex ? Property(ex, "Message") as string : null)
            ?? record.ToString();
        string id = Property(record, "FullyQualifiedErrorId") as string ?? "RemoteError";
        var category = ErrorCategory.NotSpecified;
        if (Property(record, "CategoryInfo") is PSObject info && Property(info, "Category") is { } c)
            _ = Enum.TryParse(c.ToString(), ignoreCase: true, out category);
        var restored = new ErrorRecord(new RuntimeException(message), id, category, Property(record, "TargetObject"));
        if (Property(record, "ErrorDetails") is PSObject details && Property(details, "Message") is string text && text.Length > 0)
            restored.ErrorDetails = new ErrorDetails(text);
        return restored;
    }

    private static object? Unwrap(object? value) => value is PSObject p ? p.BaseObject : value;

    private static string Clixml(PSValue value) =>
        "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" + value.ToClixml() + "</Objs>";
}

/// <summary>Where Receive-PSSession sends the output (Windows' Microsoft.PowerShell.Commands.OutTarget, which pwsh
/// compiles out off Windows).</summary>
public enum OutTarget
{
    /// <summary>Host, here.</summary>
    Default = 0,
    /// <summary>The pipeline.</summary>
    Host = 1,
    /// <summary>A job (not available here).</summary>
    Job = 2,
}
