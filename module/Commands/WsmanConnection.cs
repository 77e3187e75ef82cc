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
    internal static List<Opened> Open(PSCmdlet cmdlet, IReadOnlyList<WinRSConnectionInfo> infos, int throttleLimit, bool addToRepository)
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
            PSSession session = PSSession.Create(runspace, "WSMan", addToRepository ? cmdlet : null);
            EngineInternals.SetConfigurationName(session, ((WinRSConnectionInfo)runspace.ConnectionInfo).ShownConfigurationName);
            Microsoft.PowerShell.Commands.NewPSSessionCommand.Track(owner, session, started.Value);
            results.Add(new Opened(computer, session, null));
        }
        return results;
    }
}
