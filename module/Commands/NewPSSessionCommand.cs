using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using RemoteSessions;
using RemoteSessions.Commands;
using RemoteSessions.Native;
using RemoteSessions.PSSessions;
using PSSession = System.Management.Automation.Runspaces.PSSession;

// The namespace of pwsh's own New-PSSession (newrunspacecommand.cs): a FullyQualifiedErrorId ends in the
// cmdlet type's full name, so ids match Windows' ",Microsoft.PowerShell.Commands.NewPSSessionCommand".
// (This type shadows the engine's one of the same name inside this assembly only: CS0436.)
#pragma warning disable CS0436
namespace Microsoft.PowerShell.Commands;

/// <summary>
/// New-PSSession over the Rust transports (spec/cmdlet-behaviour.md §2.4): WS-Management (-ComputerName,
/// -ConnectionUri: a WinRS shell of a session configuration, as on Windows), a local PowerShell server
/// process (no target, -PowerShellPath or -UseWindowsPowerShell), or SSH (-HostName, -SSHConnection). The sessions are
/// real PSSessions in this runspace's repository, so Invoke-Command, Enter-PSSession, Get-PSSession and
/// Remove-PSSession work on them. A target that fails to open writes an OpenError and no session.
/// </summary>
[Cmdlet(VerbsCommon.New, "PSSession", DefaultParameterSetName = ComputerNameSet)]
[OutputType(typeof(PSSession))]
public sealed class NewPSSessionCommand : PSCmdlet
{
    private const string ComputerNameSet = "ComputerName";
    private const string UriSet = "Uri";
    private const string ProcessSet = "ProcessParameterSet";
    private const string WindowsPowerShellSet = "UseWindowsPowerShellParameterSet";
    private const string SshHostSet = "SSHHost";
    private const string SshHashSet = "SSHHostHashParam";

    /// <summary>The PowerShell server to start for a local session: an existing file, by file-system path
    /// (relative to the current location); default: <c>pwsh</c> on PATH. Another provider's path (e.g.
    /// <c>env:PATH</c>) is an InvalidArgument error, a missing file ObjectNotFound.</summary>
    [Parameter(ParameterSetName = ProcessSet)]
    [Parameter(ParameterSetName = WindowsPowerShellSet)]
    [ValidateNotNullOrEmpty]
    public string? PowerShellPath { get; set; }

    /// <summary>A local PowerShell process session (there is no Windows PowerShell 5.1 here).</summary>
    [Parameter(ParameterSetName = WindowsPowerShellSet, Mandatory = true)]
    public SwitchParameter UseWindowsPowerShell { get; set; }

    /// <summary>Computers to reach over WS-Management (WinRM). Without any, the session is a local
    /// PowerShell server process, as with -PowerShellPath (there is no WinRM on this computer).</summary>
    [Parameter(ParameterSetName = ComputerNameSet, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Cn")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    /// <summary>WS-Management endpoints as URLs, e.g. <c>https://srv1:5986/wsman</c>.</summary>
    [Parameter(ParameterSetName = UriSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("URI", "CU")]
    [ValidateNotNullOrEmpty]
    public Uri[]? ConnectionUri { get; set; }

    /// <summary>Accepted as on Windows; redirections are not followed (a redirect is an error).</summary>
    [Parameter(ParameterSetName = UriSet)]
    public SwitchParameter AllowRedirection { get; set; }

    /// <summary>The URL path of the service; default <c>$PSSessionApplicationName</c>, else <c>wsman</c>.</summary>
    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    public string? ApplicationName { get; set; }

    /// <summary>HTTPS (port 5986 unless -Port).</summary>
    [Parameter(ParameterSetName = ComputerNameSet)]
    public SwitchParameter UseSSL { get; set; }

    /// <summary>The session configuration; default <c>$PSSessionConfigurationName</c>, else Microsoft.PowerShell.</summary>
    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriSet, ValueFromPipelineByPropertyName = true)]
    public string? ConfigurationName { get; set; }

    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = UriSet, ValueFromPipelineByPropertyName = true)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Default is Negotiate, as on Windows; Basic needs HTTPS or -SessionOption with NoEncryption.</summary>
    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = UriSet)]
    public AuthenticationMechanism Authentication { get; set; }

    /// <summary>A client certificate by thumbprint (HTTPS only), from the stores about_RemoteSessions names.</summary>
    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = UriSet)]
    public string? CertificateThumbprint { get; set; }

    /// <summary>Timeouts, TLS checks, encryption, cultures; default <c>$PSSessionOption</c>.</summary>
    [Parameter(ParameterSetName = ComputerNameSet)]
    [Parameter(ParameterSetName = UriSet)]
    public PSSessionOption? SessionOption { get; set; }

    /// <summary>Accepted as on Windows, where it matters only for loopback sessions.</summary>
    [Parameter(ParameterSetName = ComputerNameSet)]
    public SwitchParameter EnableNetworkAccess { get; set; }

    [Parameter(ParameterSetName = SshHostSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? HostName { get; set; }

    [Parameter(ParameterSetName = SshHostSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? UserName { get; set; }

    [Parameter(ParameterSetName = SshHostSet, ValueFromPipelineByPropertyName = true)]
    [Alias("IdentityFilePath")]
    [ValidateNotNullOrEmpty]
    public string? KeyFilePath { get; set; }

    /// <summary>Port, 1–65535: WS-Management's (default 5985, or 5986 with -UseSSL) or ssh's (default its own).</summary>
    [Parameter(ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = SshHostSet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter(ParameterSetName = SshHostSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Subsystem { get; set; }

    /// <summary>Milliseconds to wait for the server to answer; -1 (default) waits as long as it takes.</summary>
    [Parameter(ParameterSetName = SshHostSet)]
    [ValidateRange(-1, int.MaxValue)]
    public int ConnectingTimeout { get; set; } = -1;

    /// <summary>Selects the SSH parameter set, as in the built-in cmdlet.</summary>
    [Parameter(ParameterSetName = SshHostSet)]
    [ValidateSet("true")]
    public string? SSHTransport { get; set; }

    /// <summary>ssh <c>-o</c> options, e.g. <c>@{StrictHostKeyChecking='no'}</c>.</summary>
    [Parameter(ParameterSetName = SshHostSet)]
    public Hashtable? Options { get; set; }

    [Parameter(ParameterSetName = SshHashSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public Hashtable[]? SSHConnection { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>How many sessions open at once; 0 = 32.</summary>
    [Parameter]
    public int ThrottleLimit { get; set; }

    private int _named;

    // As Windows' PSRemotingBaseCmdlet: the effective session option's idle timeout (from -SessionOption
    // or $PSSessionOption, whatever the transport) must be the server default or at least a minute.
    protected override void BeginProcessing() =>
        NewPSSessionOptionCommand.CheckIdleTimeout(NewPSSessionOptionCommand.Effective(this, SessionOption));

    protected override void ProcessRecord()
    {
        var targets = ParameterSetName switch
        {
            SshHostSet => HostName!.Select(h => (Info: (RunspaceConnectionInfo)SshInfo(h, UserName, Port, KeyFilePath, Subsystem, Options, ConnectingTimeout), Transport: "SSH")).ToList(),
            SshHashSet => SSHConnection!.Select(h => (Info: (RunspaceConnectionInfo)FromHashtable(h), Transport: "SSH")).ToList(),
            ComputerNameSet when ComputerName is { Length: > 0 } => ComputerName.Select(c => (Info: (RunspaceConnectionInfo)WsmanInfo(c, UseSSL, Port, ApplicationName ?? Preference("PSSessionApplicationName", "wsman")), Transport: "WSMan")).ToList(),
            UriSet => ConnectionUri!.Select(u => (Info: (RunspaceConnectionInfo)FromUri(u), Transport: "WSMan")).ToList(),
            _ => [(Info: (RunspaceConnectionInfo)LocalInfo(), Transport: "Process")],
        };
        var opening = new List<(Runspace Runspace, string Transport, StrongBox<PsrpTransport?> Started, Task Open)>();
        using var throttle = new SemaphoreSlim(ThrottleLimit > 0 ? ThrottleLimit : 32);
        foreach (var (info, transport) in targets)
        {
            var started = new StrongBox<PsrpTransport?>();
            Action<PsrpTransport> remember = t => started.Value = t;
            if (info is ProcessConnectionInfo p) p.TransportStarted = remember;
            if (info is SshConnectionInfo s) s.TransportStarted = remember;
            if (info is WinRSConnectionInfo w) w.TransportStarted = remember;
            Runspace runspace = RunspaceFactory.CreateRunspace(info, Host, TypeTable.LoadDefaultTypeFiles());
            opening.Add((runspace, transport, started, Task.Run(async () =>
            {
                await throttle.WaitAsync().ConfigureAwait(false);
                try { runspace.Open(); }
                finally { throttle.Release(); }
            })));
        }
        RunspaceSessions owner = RunspaceSessions.Current;
        foreach (var (runspace, transport, started, open) in opening)
        {
            try
            {
                open.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is PSRemotingTransportException or PSRemotingDataStructureException or InvalidRunspaceStateException or RuntimeException)
            {
                string computer = runspace.ConnectionInfo.ComputerName;
                runspace.Dispose();
                var record = new ErrorRecord(e, TransportErrors.ErrorId(e, "PSSessionOpenFailed"), ErrorCategory.OpenError, computer)
                {
                    ErrorDetails = new ErrorDetails($"[{computer}] {e.Message}"),
                };
                // The id is exactly Windows' (no ",<command type>" suffix), as the engine's New-PSSession writes it;
                // refused credentials make it AccessDenied,PSSessionOpenFailed.
                WriteError(EngineInternals.KeepErrorId(record));
                continue;
            }
            PSSession session = PSSession.Create(runspace, transport, this);
            if (runspace.ConnectionInfo is WinRSConnectionInfo winrs) EngineInternals.SetConfigurationName(session, winrs.ShownConfigurationName);
            if (Name is { } names && _named < names.Length) session.Name = names[_named++];
            Track(owner, session, started.Value);
            WriteObject(session);
        }
    }

    // Registers the session in the Rust registry of this runspace's scope and keeps its state there
    // current; once PowerShell closes it (Remove-PSSession, runspace closing) it leaves the registry.
    internal static void Track(RunspaceSessions owner, PSSession session, PsrpTransport? transport)
    {
        NativePSSession native = owner.Scope.RegisterPSSession(session.Id, session.InstanceId, session.Name, session.ComputerName, session.Transport, transport);
        session.Runspace.StateChanged += (_, e) =>
        {
            try
            {
                native.State = (PSSessionState)e.RunspaceStateInfo.State;
                if (e.RunspaceStateInfo.State == RunspaceState.Closed) owner.Scope.RemovePSSession(native);
            }
            catch (RemoteSessionsException)
            {
                // Already removed (from C, or with the runspace's scope): nothing left to record.
            }
        };
    }

    private WsmanConnection.Parameters Common => new(ConfigurationName, Credential, Authentication, CertificateThumbprint, SessionOption);

    private WinRSConnectionInfo WsmanInfo(string computer, bool useSsl, int port, string applicationName)
    {
        var info = WsmanConnection.Info(this, Common, computer, useSsl, port, applicationName);
        if (Name is { } names && _shellNamed < names.Length) info.ShellName = names[_shellNamed++];
        return info;
    }

    private int _shellNamed;

    // -ConnectionUri: http or https only (WsmanConnection.FromUri); anything else is refused before a
    // connection is tried.
    private WinRSConnectionInfo FromUri(Uri uri)
    {
        WinRSConnectionInfo info;
        try
        {
            info = WsmanConnection.FromUri(this, Common, uri);
        }
        catch (ArgumentException e)
        {
            throw Terminate(e, "InvalidConnectionUri", ErrorCategory.InvalidArgument, uri);
        }
        if (Name is { } names && _shellNamed < names.Length) info.ShellName = names[_shellNamed++];
        return info;
    }

    private string Preference(string variable, string fallback) => WsmanConnection.Preference(this, variable, fallback);

    private ProcessConnectionInfo LocalInfo()
    {
        string program = PowerShellPath is { } p
            ? ServerPath(p)
            : FindOnPath("pwsh") ?? throw Terminate(new ItemNotFoundException(
                "pwsh was not found on PATH; name the PowerShell to start with -PowerShellPath."), "PowerShellNotFound", ErrorCategory.ObjectNotFound, "pwsh");
        return new ProcessConnectionInfo(program, ["-s", "-NoLogo", "-NoProfile"]);
    }

    // -PowerShellPath names a file: a file-system path (relative to the current location), never a
    // name looked up on PATH, nor another provider's path such as env:PATH (which would become the
    // program name "PATH" and a PATH lookup). pwsh's own process sessions (Start-Job) start only
    // $PSHOME/pwsh and fail when that file does not exist; so does this, for the file named.
    private string ServerPath(string path)
    {
        string resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
        }
        catch (Exception e) when (e is ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or PSArgumentException or NotSupportedException)
        {
            throw Terminate(new ArgumentException($"-PowerShellPath '{path}' is not a file system path: {e.Message}", e),
                "PowerShellPathNotFileSystem", ErrorCategory.InvalidArgument, path);
        }
        if (provider.ImplementingType != typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
            throw Terminate(new ArgumentException($"-PowerShellPath '{path}' is a path of the {provider.Name} provider, not a file; name the PowerShell executable to start, e.g. -PowerShellPath $PSHOME/pwsh."),
                "PowerShellPathNotFileSystem", ErrorCategory.InvalidArgument, path);
        if (!File.Exists(resolved))
            throw Terminate(new ItemNotFoundException($"The PowerShell executable cannot be found at \"{resolved}\" (-PowerShellPath '{path}')."),
                "PowerShellNotFound", ErrorCategory.ObjectNotFound, path);
        return resolved;
    }

    private SshConnectionInfo SshInfo(string host, string? user, int port, string? keyFile, string? subsystem, Hashtable? options, int timeout)
    {
        string? key = null;
        if (keyFile is not null)
        {
            key = SessionState.Path.GetUnresolvedProviderPathFromPSPath(keyFile);
            if (!File.Exists(key))
                throw Terminate(new FileNotFoundException($"The specified key file {key} was not found."), "PathNotFound", ErrorCategory.ObjectNotFound, keyFile);
        }
        var pairs = options?.Cast<DictionaryEntry>().Select(e => $"{e.Key}={e.Value}").ToArray() ?? [];
        return new SshConnectionInfo(host, user, port, key, subsystem, pairs, timeout);
    }

    // -SSHConnection hashtables (spec §2.4): ComputerName|HostName, UserName, KeyFilePath|IdentityFilePath,
    // Port, Subsystem, ConnectingTimeout, Options.
    private SshConnectionInfo FromHashtable(Hashtable h)
    {
        // As PSRemotingCmdlet.cs's ParseSSHConnectionHashTable: every refusal is a PSArgumentException
        // thrown out of the cmdlet, so the id is "Argument,…NewPSSessionCommand", InvalidArgument.
        string[] known = ["ComputerName", "HostName", "UserName", "KeyFilePath", "IdentityFilePath", "Port", "Subsystem", "ConnectingTimeout", "Options"];
        object? Get(string k) => h.Keys.Cast<object>().Where(x => string.Equals(x.ToString(), k, StringComparison.OrdinalIgnoreCase)).Select(x => h[x]).FirstOrDefault();
        bool Has(string k) => h.Keys.Cast<object>().Any(x => string.Equals(x as string, k, StringComparison.OrdinalIgnoreCase));
        if (Has("ComputerName") && Has("HostName"))
            throw new PSArgumentException("An SSHConnection hashtable cannot have both ComputerName and HostName.");
        if (Has("KeyFilePath") && Has("IdentityFilePath"))
            throw new PSArgumentException("An SSHConnection hashtable cannot have both KeyFilePath and IdentityFilePath.");
        foreach (object key in h.Keys)
        {
            if (key is not string name || name.Length == 0)
                throw new PSArgumentException("An SSHConnection hashtable key must be a parameter name, and its value not null or empty.");
            if (!known.Contains(name, StringComparer.OrdinalIgnoreCase))
                throw new PSArgumentException($"The provided SSHConnection hashtable parameter {name} is not supported.");
            if (!name.Equals("Options", StringComparison.OrdinalIgnoreCase) && string.IsNullOrEmpty(h[key] is { } v ? LanguagePrimitives.ConvertTo<string>(v) : null))
                throw new PSArgumentException("An SSHConnection hashtable key must be a parameter name, and its value not null or empty.");
        }
        string? Text(string k) => Get(k) is { } v ? LanguagePrimitives.ConvertTo<string>(v) : null;
        string? host = Text("ComputerName") ?? Text("HostName");
        if (string.IsNullOrEmpty(host))
            throw new PSArgumentException("An SSHConnection hashtable needs ComputerName (or HostName).");
        int port = Get("Port") is { } p ? LanguagePrimitives.ConvertTo<int>(p) : 0;
        int timeout = Get("ConnectingTimeout") is { } t ? LanguagePrimitives.ConvertTo<int>(t) : -1;
        return SshInfo(host, Text("UserName"), port, Text("KeyFilePath") ?? Text("IdentityFilePath"), Text("Subsystem"), Get("Options") as Hashtable, timeout);
    }

    // ThrowTerminatingError always throws; returning an exception lets callers write `throw Terminate(…)`
    // where C# needs an expression.
    private Exception Terminate(Exception e, string id, ErrorCategory category, object? target)
    {
        ThrowTerminatingError(new ErrorRecord(e, id, category, target));
        return e;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
