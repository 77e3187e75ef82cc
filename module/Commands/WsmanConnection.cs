using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using RemoteSessions.Native;
using RemoteSessions.PSSessions;
using PSSession = System.Management.Automation.Runspaces.PSSession;

#pragma warning disable CS0436 // the module's Microsoft.PowerShell.Commands.NewPSSessionCommand

namespace RemoteSessions.Commands;

/// <summary>
/// The WS-Management connection of New-PSSession -ComputerName/-ConnectionUri, shared with Invoke-Command
/// and Enter-PSSession: a WinRSConnectionInfo from the common remoting parameters (with Windows' defaults
/// from $PSSessionOption, $PSSessionApplicationName, $PSSessionConfigurationName), and the sessions
/// opened over it, registered with the library as New-PSSession's are.
/// </summary>
internal static class WsmanConnection
{
    /// <summary>The common WS-Management parameters of the remoting cmdlets.</summary>
    internal sealed record Parameters(
        string? ConfigurationName, PSCredential? Credential, AuthenticationMechanism Authentication,
        string? CertificateThumbprint, PSSessionOption? SessionOption);

    /// <summary>A computer by name: HTTP(S), port (0: the scheme's default), application name (null: the default).</summary>
    internal static WinRSConnectionInfo Info(PSCmdlet cmdlet, Parameters p, string computer, bool useSsl, int port, string? applicationName)
    {
        var option = Microsoft.PowerShell.Commands.NewPSSessionOptionCommand.Effective(cmdlet, p.SessionOption);
        return new WinRSConnectionInfo(computer, useSsl, port, applicationName ?? Preference(cmdlet, "PSSessionApplicationName", "wsman"),
            p.ConfigurationName ?? Preference(cmdlet, "PSSessionConfigurationName", WinRSConnectionInfo.DefaultConfigurationName), option)
        {
            Credential = p.Credential,
            AuthenticationMechanism = p.Authentication,
            CertificateThumbprint = p.CertificateThumbprint ?? "",
        };
    }

    /// <summary>
    /// -ConnectionUri: http or https, the host, the port (the scheme's default when the URL has none) and
    /// the path as the application name. Anything else is an ArgumentException, before a connection is tried.
    /// </summary>
    internal static WinRSConnectionInfo FromUri(PSCmdlet cmdlet, Parameters p, Uri uri)
    {
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"The connection URI '{uri}' is not an http or https URL, e.g. https://srv1:5986/wsman.");
        string path = uri.AbsolutePath.Trim('/');
        return Info(cmdlet, p, uri.IdnHost, uri.Scheme == Uri.UriSchemeHttps, uri.IsDefaultPort ? 0 : uri.Port, path.Length > 0 ? path + uri.Query : "wsman");
    }

    internal static string Preference(PSCmdlet cmdlet, string variable, string fallback) =>
        cmdlet.GetVariableValue(variable) is { } v && LanguagePrimitives.ConvertTo<string>(v) is { Length: > 0 } text ? text : fallback;

    /// <summary>One target's result: its session, or why it did not open.</summary>
    internal readonly record struct Opened(string ComputerName, PSSession? Session, Exception? Error);

    /// <summary>
    /// Opens a session for each connection, at most <paramref name="throttleLimit"/> (0: 32) at once, in
    /// the order given. Each session is registered with the library (so Disconnect-PSSession and
    /// Get-PSSession -ComputerName know it) and, with <paramref name="addToRepository"/>, put in this
    /// runspace's Get-PSSession. A connection that fails gives its exception and no session.
    /// </summary>
    /// <param name="cmdlet">The cmdlet whose host and runspace the sessions get.</param>
    /// <param name="infos">The connections, one session each.</param>
    /// <param name="throttleLimit">How many open at once (0: 32).</param>
    /// <param name="addToRepository">Whether the sessions join this runspace's Get-PSSession.</param>
    /// <param name="startPipelinesDisconnected">Invoke-Command -InDisconnectedSession: the pipelines
    /// started in the sessions until they are disconnected run unread, their output left on the server
    /// (<see cref="PsrpTransport.StartPipelinesDisconnected"/>).</param>
    internal static List<Opened> Open(PSCmdlet cmdlet, IReadOnlyList<WinRSConnectionInfo> infos, int throttleLimit, bool addToRepository, bool startPipelinesDisconnected = false)
    {
        var opening = new List<(Runspace Runspace, StrongBox<PsrpTransport?> Started, Task Open)>();
        using var throttle = new SemaphoreSlim(throttleLimit > 0 ? throttleLimit : 32);
        foreach (WinRSConnectionInfo info in infos)
        {
            var started = new StrongBox<PsrpTransport?>();
            info.TransportStarted = t => started.Value = t;
            Runspace runspace = RunspaceFactory.CreateRunspace(info, cmdlet.Host, TypeTable.LoadDefaultTypeFiles());
            opening.Add((runspace, started, Task.Run(async () =>
            {
                await throttle.WaitAsync().ConfigureAwait(false);
                try { runspace.Open(); }
                finally { throttle.Release(); }
            })));
        }
        RunspaceSessions owner = RunspaceSessions.Current;
        var results = new List<Opened>();
        foreach (var (runspace, started, open) in opening)
        {
            string computer = runspace.ConnectionInfo.ComputerName;
            try
            {
                open.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is PSRemotingTransportException or PSRemotingDataStructureException or InvalidRunspaceStateException or RuntimeException)
            {
                runspace.Dispose();
                results.Add(new Opened(computer, null, e));
                continue;
            }
            // Once open: the engine may run pipelines of its own while it opens a session.
            try
            {
                if (startPipelinesDisconnected) started.Value?.StartPipelinesDisconnected();
            }
            catch (RemoteSessionsException e)
            {
                runspace.Dispose();
                results.Add(new Opened(computer, null, new PSRemotingTransportException(e.Message, e)));
                continue;
            }
            PSSession session = PSSession.Create(runspace, "WSMan", addToRepository ? cmdlet : null);
            EngineInternals.SetConfigurationName(session, ((WinRSConnectionInfo)runspace.ConnectionInfo).ShownConfigurationName);
            Microsoft.PowerShell.Commands.NewPSSessionCommand.Track(owner, session, started.Value);
            results.Add(new Opened(computer, session, null));
        }
        return results;
    }

    /// <summary>
    /// The user's PowerShell sessions on the server of <paramref name="info"/> (a WS-Management Enumerate
    /// of shells; shells of other resources, such as cmd, are left out), as Get-PSSession -ComputerName
    /// shows them: this PowerShell's own session object when it has one, else a server's session
    /// (<see cref="ServerSession"/>). Those of another configuration than <paramref name="configurationName"/>
    /// (when given) are left out.
    /// </summary>
    /// <exception cref="RemoteSessionsException">The server could not be asked (refused, unreachable, a bad reply).</exception>
    internal static List<PSSession> SessionsOnServer(PSCmdlet cmdlet, WinRSConnectionInfo info, string? configurationName)
    {
        IReadOnlyList<WsmanShell> shells = WsmanShell.List(info.ComputerName, info.SessionOptions(), info.NativeCredential());
        var local = cmdlet.InvokeCommand.InvokeScript("Microsoft.PowerShell.Core\\Get-PSSession").Select(o => o.BaseObject).OfType<PSSession>().ToList();
        var found = new List<PSSession>();
        foreach (WsmanShell shell in shells)
        {
            if (shell.ResourceUri is not { } uri || !uri.StartsWith(WinRSConnectionInfo.PowerShellUriPrefix, StringComparison.OrdinalIgnoreCase)) continue;
            if (!Guid.TryParse(shell.ShellId, out Guid id)) continue;
            if (configurationName is { Length: > 0 } wanted && !string.Equals(WinRSConnectionInfo.ShownConfiguration(wanted), WinRSConnectionInfo.ShownConfiguration(uri), StringComparison.OrdinalIgnoreCase)) continue;
            bool disconnected = string.Equals(shell.State, "Disconnected", StringComparison.OrdinalIgnoreCase);
            found.Add(local.FirstOrDefault(s => s.InstanceId == id) ?? ServerSession(cmdlet.Host, info, id, shell.Name, uri, disconnected));
        }
        return found;
    }

    /// <summary>
    /// A session of the server (another client's, or another PowerShell's) as Get-PSSession -ComputerName
    /// shows one: a PSSession with the shell's id as InstanceId and the shell's name, not opened and in no
    /// session list; Disconnected, with Availability None when the server says the shell is disconnected
    /// and Busy when another client is connected to it. <see cref="Connect"/> connects this PowerShell to it.
    /// </summary>
    /// <param name="host">The host the session's runspace gets.</param>
    /// <param name="info">How the server was reached (computer, port, credential, options).</param>
    /// <param name="shellId">The shell's id, which is its runspace pool's id.</param>
    /// <param name="shellName">The shell's name, or null.</param>
    /// <param name="resourceUri">The shell's resource URI (its session configuration).</param>
    /// <param name="disconnected">Whether the server says the shell is disconnected.</param>
    internal static PSSession ServerSession(System.Management.Automation.Host.PSHost host, WinRSConnectionInfo info, Guid shellId, string? shellName, string resourceUri, bool disconnected)
    {
        var connection = new WinRSConnectionInfo(info.ComputerName, info.UseSsl, info.Port, info.ApplicationName, resourceUri, info.Option)
        {
            Credential = info.Credential,
            AuthenticationMechanism = info.AuthenticationMechanism,
            CertificateThumbprint = info.CertificateThumbprint,
            ShellName = shellName,
            Existing = new WinRSConnectionInfo.ExistingShell(shellId),
        };
        Runspace runspace = RunspaceFactory.CreateRunspace(connection, host, TypeTable.LoadDefaultTypeFiles());
        EngineInternals.SetInstanceId(runspace, shellId);
        PSSession session = PSSession.Create(runspace, "WSMan", null);
        if (shellName is { Length: > 0 } name) session.Name = name;
        EngineInternals.SetConfigurationName(session, WinRSConnectionInfo.ShownConfiguration(resourceUri));
        EngineInternals.ShowDisconnected(runspace, disconnected: true, disconnected ? RunspaceAvailability.None : RunspaceAvailability.Busy);
        return session;
    }

    /// <summary>Whether <paramref name="session"/> is a server's session (<see cref="ServerSession"/>) not yet connected.</summary>
    internal static bool IsServerSession(PSSession session) =>
        session.Runspace.ConnectionInfo is WinRSConnectionInfo { Existing: { Transport: null } } && session.Runspace.RunspaceStateInfo.State == RunspaceState.Disconnected;

    /// <summary>
    /// Connects this PowerShell to a disconnected server's session (<see cref="ServerSession"/>): its
    /// runspace opens over a connect to the shell's runspace pool (the library's reconstruct), so it
    /// goes on with the runspace and variables the server kept. The session, under the shell's name,
    /// joins this runspace's Get-PSSession and is registered with the library as New-PSSession's are.
    /// </summary>
    /// <returns>The connected session (a new PSSession object over the same runspace).</returns>
    /// <exception cref="InvalidOperationException">Not a disconnected server's session, or one connected to another client (Busy).</exception>
    /// <exception cref="PSRemotingTransportException">The server refused or went away (the runspace is then Broken).</exception>
    internal static PSSession Connect(PSCmdlet cmdlet, PSSession serverSession)
    {
        Runspace runspace = serverSession.Runspace;
        if (!IsServerSession(serverSession) || runspace.RunspaceAvailability != RunspaceAvailability.None)
            throw new InvalidOperationException($"Cannot connect PSSession \"{serverSession.Name}\", either because it is not in the Disconnected state, or it is not available for connection.");
        var existing = ((WinRSConnectionInfo)runspace.ConnectionInfo).Existing!;
        EngineInternals.ShowNotOpened(runspace);
        runspace.Open();
        PSSession session = PSSession.Create(runspace, "WSMan", cmdlet);
        session.Name = serverSession.Name;
        EngineInternals.SetConfigurationName(session, serverSession.ConfigurationName);
        Microsoft.PowerShell.Commands.NewPSSessionCommand.Track(RunspaceSessions.Current, session, existing.Transport);
        return session;
    }
}
