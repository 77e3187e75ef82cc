using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using RemoteSessions;
using RemoteSessions.Commands;
using RemoteSessions.PSSessions;
using PSSession = System.Management.Automation.Runspaces.PSSession;

// Windows' namespace and type name (RC/InvokeCommandCommand.cs), so error ids end as Windows' do:
// ",Microsoft.PowerShell.Commands.InvokeCommandCommand". (This type shadows the engine's one of the same
// name inside this assembly only: CS0436.)
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// Invoke-Command (spec/cmdlet-behaviour.md §2.7) with the engine's parameters. The WS-Management sets
/// (-ComputerName, -ConnectionUri and their -FilePath twins) open temporary sessions over the module's
/// WinRS transport (as New-PSSession does), run the engine's own <c>Microsoft.PowerShell.Core\Invoke-Command
/// -Session</c> on them (so output, PSComputerName, RunspaceId, remote errors and jobs are the engine's)
/// and close them at the end, when the job ends (-AsJob), or leave them disconnected on the servers
/// (-InDisconnectedSession). Every other set is the engine's Invoke-Command, unchanged.
/// </summary>
/// <remarks>
/// The engine's command runs as a steppable pipeline of this cmdlet: a cmdlet opens no scope of its own
/// and neither does a steppable pipeline (its arguments come from a dictionary, not variables), so the
/// engine's Invoke-Command sees the caller's scope, where it evaluates <c>$using:</c> and where
/// -NoNewScope runs; pipeline input goes on to it one object at a time.
/// </remarks>
[Cmdlet(VerbsLifecycle.Invoke, "Command", DefaultParameterSetName = InProcessSet,
    HelpUri = "https://go.microsoft.com/fwlink/?LinkID=2096789", RemotingCapability = RemotingCapability.OwnedByCommand)]
public sealed class InvokeCommandCommand : PSCmdlet, IDisposable
{
    private const string InProcessSet = "InProcess";

    [Parameter(ParameterSetName = "Session", Position = 0)]
    [Parameter(ParameterSetName = "FilePathRunspace", Position = 0)]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    [Parameter(ParameterSetName = "ComputerName", Position = 0)]
    [Parameter(ParameterSetName = "FilePathComputerName", Position = 0)]
    [Alias("Cn")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ParameterSetName = "ComputerName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "Uri", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathComputerName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathUri", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMId", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMName", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathVMId", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathVMName", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "SSHHost")]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    public SwitchParameter UseSSL { get; set; }

    [Parameter(ParameterSetName = "ComputerName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "Uri", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathComputerName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathUri", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "ContainerId", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMId", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "VMName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathContainerId", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathVMId", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathVMName", ValueFromPipelineByPropertyName = true)]
    public string? ConfigurationName { get; set; }

    [Parameter(ParameterSetName = "ComputerName", ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathComputerName", ValueFromPipelineByPropertyName = true)]
    public string? ApplicationName { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Session")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "FilePathRunspace")]
    [Parameter(ParameterSetName = "FilePathUri")]
    [Parameter(ParameterSetName = "VMId")]
    [Parameter(ParameterSetName = "VMName")]
    [Parameter(ParameterSetName = "ContainerId")]
    [Parameter(ParameterSetName = "FilePathVMId")]
    [Parameter(ParameterSetName = "FilePathVMName")]
    [Parameter(ParameterSetName = "FilePathContainerId")]
    public int ThrottleLimit { get; set; }

    [Parameter(ParameterSetName = "Uri", Position = 0)]
    [Parameter(ParameterSetName = "FilePathUri", Position = 0)]
    [Alias("URI", "CU")]
    [ValidateNotNullOrEmpty]
    public Uri[]? ConnectionUri { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Session")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "FilePathRunspace")]
    [Parameter(ParameterSetName = "FilePathUri")]
    [Parameter(ParameterSetName = "VMId")]
    [Parameter(ParameterSetName = "VMName")]
    [Parameter(ParameterSetName = "ContainerId")]
    [Parameter(ParameterSetName = "FilePathVMId")]
    [Parameter(ParameterSetName = "FilePathVMName")]
    [Parameter(ParameterSetName = "FilePathContainerId")]
    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "SSHHostHashParam")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHostHash")]
    public SwitchParameter AsJob { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathUri")]
    [Alias("Disconnected")]
    public SwitchParameter InDisconnectedSession { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [ValidateNotNullOrEmpty]
    public string[]? SessionName { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Session")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "FilePathRunspace")]
    [Parameter(ParameterSetName = "FilePathUri")]
    [Parameter(ParameterSetName = "VMId")]
    [Parameter(ParameterSetName = "VMName")]
    [Parameter(ParameterSetName = "ContainerId")]
    [Parameter(ParameterSetName = "FilePathVMId")]
    [Parameter(ParameterSetName = "FilePathVMName")]
    [Parameter(ParameterSetName = "FilePathContainerId")]
    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "SSHHostHashParam")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHostHash")]
    [Alias("HCN")]
    public SwitchParameter HideComputerName { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Session")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "FilePathRunspace")]
    [Parameter(ParameterSetName = "FilePathUri")]
    [Parameter(ParameterSetName = "ContainerId")]
    [Parameter(ParameterSetName = "FilePathContainerId")]
    [Parameter(ParameterSetName = "SSHHostHashParam")]
    [Parameter(ParameterSetName = "SSHHost")]
    public string? JobName { get; set; }

    [Parameter(ParameterSetName = "ComputerName", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "Session", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "Uri", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "InProcess", Mandatory = true, Position = 0)]
    [Parameter(ParameterSetName = "VMId", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "VMName", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "ContainerId", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "SSHHost", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "SSHHostHashParam", Mandatory = true, Position = 1)]
    [Alias("Command")]
    [ValidateNotNull]
    public ScriptBlock? ScriptBlock { get; set; }

    [Parameter(ParameterSetName = "InProcess")]
    public SwitchParameter NoNewScope { get; set; }

    [Parameter(ParameterSetName = "FilePathComputerName", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "FilePathRunspace", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "FilePathUri", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "FilePathVMId", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "FilePathVMName", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "FilePathContainerId", Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = "FilePathSSHHost", Mandatory = true)]
    [Parameter(ParameterSetName = "FilePathSSHHostHash", Mandatory = true)]
    [Alias("PSPath")]
    [ValidateNotNull]
    public string? FilePath { get; set; }

    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathUri")]
    public SwitchParameter AllowRedirection { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "FilePathUri")]
    public PSSessionOption? SessionOption { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathUri")]
    public AuthenticationMechanism Authentication { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathUri")]
    public SwitchParameter EnableNetworkAccess { get; set; }

    [Parameter(ParameterSetName = "ContainerId")]
    [Parameter(ParameterSetName = "FilePathContainerId")]
    public SwitchParameter RunAsAdministrator { get; set; }

    [Parameter(ParameterSetName = "SSHHost", Mandatory = true)]
    [Parameter(ParameterSetName = "FilePathSSHHost", Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string[]? HostName { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    [ValidateNotNullOrEmpty]
    public string? UserName { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    [Alias("IdentityFilePath")]
    [ValidateNotNullOrEmpty]
    public string? KeyFilePath { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    public string? Subsystem { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    public int ConnectingTimeout { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    [ValidateSet("true")]
    public SwitchParameter SSHTransport { get; set; }

    [Parameter(ParameterSetName = "SSHHostHashParam", Mandatory = true)]
    [Parameter(ParameterSetName = "FilePathSSHHostHash", Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public Hashtable[]? SSHConnection { get; set; }

    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    [ValidateNotNullOrEmpty]
    public Hashtable? Options { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Session")]
    [Parameter(ParameterSetName = "Uri")]
    [Parameter(ParameterSetName = "FilePathComputerName")]
    [Parameter(ParameterSetName = "FilePathRunspace")]
    [Parameter(ParameterSetName = "FilePathUri")]
    [Parameter(ParameterSetName = "VMId")]
    [Parameter(ParameterSetName = "VMName")]
    [Parameter(ParameterSetName = "ContainerId")]
    [Parameter(ParameterSetName = "FilePathVMId")]
    [Parameter(ParameterSetName = "FilePathVMName")]
    [Parameter(ParameterSetName = "FilePathContainerId")]
    [Parameter(ParameterSetName = "SSHHost")]
    [Parameter(ParameterSetName = "SSHHostHashParam")]
    [Parameter(ParameterSetName = "FilePathSSHHost")]
    [Parameter(ParameterSetName = "FilePathSSHHostHash")]
    public SwitchParameter RemoteDebug { get; set; }

    [Parameter(ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    [Parameter]
    [Alias("Args")]
    public object[]? ArgumentList { get; set; }

    [Parameter(ParameterSetName = "VMId", Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathVMId", Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VMGuid")]
    [ValidateNotNullOrEmpty]
    public Guid[]? VMId { get; set; }

    [Parameter(ParameterSetName = "VMName", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathVMName", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? VMName { get; set; }

    [Parameter(ParameterSetName = "ContainerId", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = "FilePathContainerId", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? ContainerId { get; set; }

    [Parameter(ParameterSetName = "ComputerName")]
    [Parameter(ParameterSetName = "Uri")]
    public string? CertificateThumbprint { get; set; }

    private EngineCommand? _engine;
    private readonly List<PSSession> _temporary = [];
    private HashSet<Guid>? _jobsBefore;
    private bool _handedOver;

    private bool IsWsman => ParameterSetName is "ComputerName" or "FilePathComputerName" or "Uri" or "FilePathUri";

    // The WS-Management parameters this cmdlet spends on opening the sessions; the engine gets -Session.
    private static readonly string[] ConnectionParameters =
    [
        "ComputerName", "ConnectionUri", "Credential", "Port", "UseSSL", "ConfigurationName", "ApplicationName",
        "AllowRedirection", "SessionOption", "Authentication", "EnableNetworkAccess", "CertificateThumbprint",
        "InDisconnectedSession", "SessionName",
    ];

    protected override void BeginProcessing()
    {
        Hashtable bound = EngineCommand.Bound(this);
        if (IsWsman)
        {
            // The engine's own refusals, worded and typed as its (InvalidOperationException from BeginProcessing).
            if (AsJob && InDisconnectedSession)
                throw new InvalidOperationException("You cannot use the Invoke-Command cmdlet with both the AsJob and Disconnected parameters in the same command.");
            if (SessionName is not null && !InDisconnectedSession)
                throw new InvalidOperationException("The SessionName parameter can only be used with the Disconnected switch parameter.");
            NewPSSessionOptionCommand.CheckIdleTimeout(NewPSSessionOptionCommand.Effective(this, SessionOption));
            OpenSessions();
            if (_temporary.Count == 0) return;
            foreach (string name in ConnectionParameters) bound.Remove(name);
            bound["Session"] = _temporary.ToArray();
            if (InDisconnectedSession)
            {
                // Started as a job, so that the command runs on while this cmdlet disconnects the sessions.
                bound["AsJob"] = new SwitchParameter(true);
            }
            if (AsJob || InDisconnectedSession)
                _jobsBefore = JobRepository.Jobs.Select(j => j.InstanceId).ToHashSet();
        }
        // -InDisconnectedSession writes the sessions, not the job that runs the command.
        _engine = new EngineCommand("Invoke-Command", bound, discardOutput: InDisconnectedSession);
        _engine.Begin(this);
    }

    protected override void ProcessRecord() => _engine?.Process(this, InputObject);

    protected override void EndProcessing()
    {
        if (_engine is null) return;
        _engine.End();
        if (!IsWsman) return;
        if (_jobsBefore is not null)
        {
            Job? job = JobRepository.Jobs.FirstOrDefault(j => !_jobsBefore.Contains(j.InstanceId) && j.PSJobTypeName == "RemoteJob");
            if (InDisconnectedSession)
            {
                Disconnect(job);
                return;
            }
            if (job is not null)
            {
                CloseWhenFinished(job, _temporary.ToArray());
                _handedOver = true;
            }
            return;
        }
        // All output is in: the temporary sessions close now, as the engine's own do at the end of the
        // command (Dispose closes them too when the command is stopped or fails).
        _handedOver = true;
        Close(_temporary);
    }

    public void Dispose()
    {
        _engine?.Dispose();
        if (!_handedOver) Close(_temporary);
    }

    // Opens a session for each computer or URL, as New-PSSession does; a target that does not open writes
    // its error (one per target, as the engine's Invoke-Command writes a session that broke while opening).
    private void OpenSessions()
    {
        var common = new WsmanConnection.Parameters(ConfigurationName, Credential, Authentication, CertificateThumbprint, SessionOption);
        var infos = new List<WinRSConnectionInfo>();
        if (ConnectionUri is not null)
        {
            foreach (Uri uri in ConnectionUri)
            {
                try
                {
                    infos.Add(WsmanConnection.FromUri(this, common, uri));
                }
                catch (ArgumentException e)
                {
                    WriteError(new ErrorRecord(e, "InvalidConnectionUri", ErrorCategory.InvalidArgument, uri));
                }
            }
        }
        else
        {
            // Without -ComputerName the engine's default: this computer.
            foreach (string computer in ComputerName ?? ["localhost"])
                infos.Add(WsmanConnection.Info(this, common, computer, UseSSL, Port, ApplicationName));
        }
        for (int i = 0; InDisconnectedSession && SessionName is not null && i < Math.Min(SessionName.Length, infos.Count); i++)
            infos[i].ShellName = SessionName[i];
        foreach (var opened in WsmanConnection.Open(this, infos, ThrottleLimit, addToRepository: InDisconnectedSession, startPipelinesDisconnected: InDisconnectedSession))
        {
            if (opened.Session is { } session)
            {
                _temporary.Add(session);
                continue;
            }
            Exception e = opened.Error!;
            // Refused credentials make the id AccessDenied,PSSessionStateBroken, as the engine's.
            var record = new ErrorRecord(e, TransportErrors.ErrorId(e, "PSSessionStateBroken"), ErrorCategory.OpenError, opened.ComputerName)
            {
                ErrorDetails = new ErrorDetails($"[{opened.ComputerName}] {e.Message}"),
            };
            WriteError(EngineInternals.KeepErrorId(record));
        }
        for (int i = 0; InDisconnectedSession && SessionName is not null && i < Math.Min(SessionName.Length, _temporary.Count); i++)
            _temporary[i].Name = SessionName[i];
    }

    // -InDisconnectedSession: once the command runs, the sessions are disconnected through the module's
    // Disconnect-PSSession, which writes them (Disconnected); the command goes on in the servers. The job
    // that started it is no job of the user's, as on Windows: it leaves the job list.
    private void Disconnect(Job? job)
    {
        if (job is not null)
        {
            // The job is Running once the command was sent (or already over: then it is all in the server's
            // output); the transport's disconnect waits for a command it was given to be created first.
            for (int i = 0; i < 300 && job.JobStateInfo.State is JobState.NotStarted; i++) Thread.Sleep(10);
            JobRepository.Remove(job);
        }
        _handedOver = true;
        var disconnect = new EngineCommand("RemoteSessions\\Disconnect-PSSession", new Hashtable { ["Session"] = _temporary.ToArray() });
        try
        {
            disconnect.Begin(this);
            disconnect.End();
        }
        finally
        {
            disconnect.Dispose();
        }
    }

    // -AsJob: the sessions close when the job has finished (completed, failed or stopped).
    private static void CloseWhenFinished(Job job, PSSession[] sessions)
    {
        int closed = 0;
        void Check()
        {
            if (job.JobStateInfo.State is JobState.Completed or JobState.Failed or JobState.Stopped && Interlocked.Exchange(ref closed, 1) == 0)
                Task.Run(() => Close(sessions));
        }
        job.StateChanged += (_, _) => Check();
        Check();
    }

    private static void Close(IEnumerable<PSSession> sessions)
    {
        Task.WaitAll(sessions.Select(s => Task.Run(() =>
        {
            try
            {
                s.Runspace.Close();
            }
            catch (Exception e) when (e is RuntimeException or InvalidRunspaceStateException or InvalidOperationException)
            {
                // Broken already, or the transport reported the close as failed: the session ends either way.
            }
            s.Runspace.Dispose();
        })).ToArray());
    }
}

/// <summary>
/// The engine's own cmdlet (<c>Microsoft.PowerShell.Core\&lt;Name&gt;</c>, or another module-qualified name)
/// run as a steppable pipeline of a proxy cmdlet, with the parameters the proxy was given: it writes to the
/// proxy's output and error streams, sees the caller's scope, and gets the proxy's pipeline input one object
/// at a time.
/// </summary>
internal sealed class EngineCommand : IDisposable
{
    private readonly SteppablePipeline _pipeline;

    internal EngineCommand(string name, Hashtable parameters, bool discardOutput = false)
    {
        string command = name.Contains('\\') ? name : "Microsoft.PowerShell.Core\\" + name;
        string discard = discardOutput ? " | Microsoft.PowerShell.Core\\Out-Null" : "";
        _pipeline = ScriptBlock.Create($"param($__rsessParameters) {command} @__rsessParameters{discard}")
            .GetSteppablePipeline(CommandOrigin.Internal, [parameters]);
    }

    /// <summary>The parameters bound on the proxy's command line (pipeline input is not bound yet in BeginProcessing).</summary>
    internal static Hashtable Bound(PSCmdlet proxy) => new(proxy.MyInvocation.BoundParameters, StringComparer.OrdinalIgnoreCase);

    internal void Begin(PSCmdlet proxy) => _pipeline.Begin(proxy);

    /// <summary>
    /// What the proxy's current record got from the pipeline, for <see cref="Process"/>: an object whose
    /// properties are the parameters bound from it (those not in <paramref name="commandLine"/>), so the
    /// engine's command binds them by property name; null without pipeline input.
    /// </summary>
    internal static PSObject? PipelineObject(PSCmdlet proxy, Hashtable commandLine)
    {
        if (!proxy.MyInvocation.ExpectingInput) return null;
        var input = new PSObject();
        foreach (var (name, value) in proxy.MyInvocation.BoundParameters)
            if (!commandLine.ContainsKey(name)) input.Properties.Add(new PSNoteProperty(name, value));
        return input;
    }

    /// <summary>One ProcessRecord of the proxy: its pipeline object when it has pipeline input, else none (the engine's command uses its own bound parameters).</summary>
    internal void Process(PSCmdlet proxy, object? input)
    {
        if (proxy.MyInvocation.ExpectingInput) _pipeline.Process(input);
        else _pipeline.Process();
    }

    internal void End() => _pipeline.End();

    public void Dispose() => _pipeline.Dispose();
}
