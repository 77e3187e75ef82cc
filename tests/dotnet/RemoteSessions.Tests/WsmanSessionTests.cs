using RemoteSessions.Native;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>The WS-Management endpoint (tests/wsman-endpoint) shared by the tests of a class; each test
/// names its shells apart.</summary>
public sealed class WsmanEndpointFixture : WsmanEndpoint
{
    public WsmanEndpointFixture() => Start();
}

/// <summary>
/// PowerShell sessions over WS-Management opened by the library itself from C# (PsrpTransport.OpenWsman,
/// SessionScope.OpenPSSession, PSSession.Disconnect/Reconnect/Attach, SessionScope.ConnectPSSession,
/// WsmanShell.List/Commands) against tests/wsman-endpoint: PowerShell's own WSMan plugin, the server
/// code of WinRM remoting, behind Basic authentication on HTTP.
/// </summary>
public sealed class WsmanSessionTests(WsmanEndpointFixture endpoint) : IClassFixture<WsmanEndpointFixture>
{
    private const string Computer = "127.0.0.1";

    private CimSessionOptions Options => new() { Protocol = ProtocolKind.Wsman, Port = (uint)endpoint.HttpPort, NoEncryption = true };

    private CimCredential Credential(string? password = null) => new(CimAuthenticationMechanism.Basic, endpoint.User, password ?? endpoint.Password);

    private PSSession Open(SessionScope scope, string name, string? password = null)
    {
        PsrpTransport t = PsrpTransport.OpenWsman(Computer, null, name, 0, Options, Credential(password));
        try
        {
            return scope.OpenPSSession(t, name);
        }
        finally
        {
            t.Dispose(); // spent once the session took it over
        }
    }

    private WsmanShell? Shell(string name) => WsmanShell.List(Computer, Options, Credential()).SingleOrDefault(s => s.Name == name);

    private static List<string> Run(PSSession s, string script)
    {
        using PSPipeline p = s.Invoke(script);
        List<string> texts = Read(p);
        Assert.Equal(PSInvocationState.Completed, p.State);
        return texts;
    }

    private static List<string> Read(PSPipeline p)
    {
        var texts = new List<string>();
        foreach (PSStreamItem item in p.ReadAll())
            using (item.Value)
                texts.Add(item.Stream == PSStream.Output ? item.Text : $"{item.Stream}:{item.Text}");
        return texts;
    }

    [Fact]
    public void A_session_keeps_state_its_shell_is_listed_by_name_and_goes_when_it_is_removed()
    {
        using var scope = new SessionScope();
        using PSSession s = Open(scope, "cs-winrs");
        Assert.Equal(("cs-winrs", Computer, "WSMan", PSSessionState.Opened), (s.Name, s.ComputerName, s.Transport, s.State));
        Assert.Empty(Run(s, "$x = 41"));
        Assert.Equal(["42"], Run(s, "$x + 1"));

        WsmanShell? shell = Shell("cs-winrs");
        Assert.NotNull(shell);
        Assert.Equal(("Connected", endpoint.User, "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"), (shell.State, shell.Owner, shell.ResourceUri));
        Assert.True(Guid.TryParse(shell.ShellId, out _), shell.ShellId);
        // Ended, disposed pipelines are terminated on the server, which forgets them.
        Assert.Empty(WsmanShell.Commands(Computer, shell.ShellId, Options, Credential()));
        // The session's InstanceId is its runspace pool's id, the ShellId (as ConnectPSSession gives).
        Assert.Equal(Guid.Parse(shell.ShellId), s.InstanceId);

        // A pipeline the shell does not have: the server's refusal.
        Assert.Throws<RemoteSessionsException>(() => s.Attach(Guid.NewGuid()));

        scope.RemovePSSession(s);
        Assert.Equal(PSSessionState.Closed, s.State);
        Assert.Null(Shell("cs-winrs"));
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => s.Invoke("1")).Code);
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => s.Disconnect()).Code);
    }

    [Fact]
    public void A_disconnected_session_refuses_pipelines_and_after_reconnecting_delivers_what_was_written_meanwhile()
    {
        using var scope = new SessionScope();
        using PSSession s = Open(scope, "cs-away");
        using PSPipeline p = s.Invoke("1..3 | ForEach-Object { Start-Sleep -Milliseconds 300; $_ }");
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => s.Reconnect()).Code);
        s.Disconnect(120_000);
        Assert.Equal(PSSessionState.Disconnected, s.State);
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => s.Disconnect()).Code);
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => s.Invoke("1")).Code);
        Assert.Equal("Disconnected", Shell("cs-away")?.State);
        Thread.Sleep(1500);
        s.Reconnect();
        Assert.Equal(PSSessionState.Opened, s.State);
        Assert.Equal("Connected", Shell("cs-away")?.State);
        Assert.Equal(["1", "2", "3"], Read(p));
        Assert.Equal(PSInvocationState.Completed, p.State);
        Assert.Equal(["7"], Run(s, "7"));
    }

    [Fact]
    public void A_transport_disconnects_and_reconnects_under_its_session()
    {
        using var scope = new SessionScope();
        using PsrpTransport t = PsrpTransport.OpenWsman(Computer, null, "cs-transport", 0, Options, Credential());
        // Not yet connected: nothing to reconnect.
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => t.Reconnect()).Code);
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => t.Disconnect()).Code);
        using PSSession s = scope.OpenPSSession(t, "cs-transport");
        Assert.Equal(["1"], Run(s, "1"));
        scope.RemovePSSession(s);
        Assert.Null(Shell("cs-transport"));
    }

    [Fact]
    public void Another_client_connects_to_a_disconnected_session_lists_its_pipeline_and_takes_it_up()
    {
        string shellId;
        using (var first = new SessionScope())
        {
            using PSSession s = Open(first, "cs-nightly");
            using PSPipeline running = s.Invoke("'started'; Start-Sleep -Milliseconds 1500; 1; 2; 3");
            // Once it wrote something it runs on the server; what it writes after the disconnect waits there.
            using (PSStreamItem? started = running.Next(60_000))
            using (started?.Value)
                Assert.Equal("started", started?.Text);
            s.Disconnect(120_000);
            first.RemovePSSession(s); // lets the disconnected session go; the server keeps it
        }
        WsmanShell? shell = Shell("cs-nightly");
        Assert.NotNull(shell);
        Assert.Equal("Disconnected", shell.State);
        shellId = shell.ShellId;

        IReadOnlyList<Guid> commands = WsmanShell.Commands(Computer, shellId, Options, Credential());
        Guid pipeline = Assert.Single(commands);

        using var second = new SessionScope();
        using PsrpTransport t = PsrpTransport.ConnectWsman(Computer, null, shellId, Options, Credential());
        using PSSession taken = second.ConnectPSSession(t, "cs-taken");
        Assert.Equal(("cs-taken", "WSMan", PSSessionState.Opened, Guid.Parse(shellId)), (taken.Name, taken.Transport, taken.State, taken.InstanceId));
        Assert.Equal("Connected", Shell("cs-nightly")?.State);

        // A third client cannot take it while the second holds it.
        using (var third = new SessionScope())
        using (PsrpTransport t3 = PsrpTransport.ConnectWsman(Computer, null, shellId, Options, Credential()))
        {
            Assert.Throws<RemoteSessionsException>(() => third.ConnectPSSession(t3));
            Assert.Empty(third.FindPSSessions(Lookup.All).Found);
        }

        using (PSPipeline attached = taken.Attach(pipeline))
        {
            Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => taken.Attach(pipeline)).Code);
            Assert.Equal(["1", "2", "3"], Read(attached));
            Assert.Equal(PSInvocationState.Completed, attached.State);
        }
        // The ended, disposed pipeline was terminated: the server refuses to give it again.
        Assert.Throws<RemoteSessionsException>(() => taken.Attach(pipeline));
        Assert.Equal(["6"], Run(taken, "6"));

        second.RemovePSSession(taken);
        Assert.Null(Shell("cs-nightly"));
    }

    [Fact]
    public void A_client_that_opens_a_session_is_connected_to_a_disconnected_one_with_its_state()
    {
        using (var first = new SessionScope())
        {
            using PSSession s = Open(first, "cs-kept");
            Assert.Empty(Run(s, "$x = 41"));
            s.Disconnect(120_000);
            first.RemovePSSession(s);
        }
        string shellId = Shell("cs-kept")!.ShellId;
        Assert.Equal(ResultCode.InvalidArgument, Assert.Throws<RemoteSessionsException>(() => PsrpTransport.ReconstructWsman(Computer, null, "not-a-guid", Options, Credential())).Code);

        // The library's own open stands for a client that can only open (as PowerShell's engine).
        using var second = new SessionScope();
        using PsrpTransport t = PsrpTransport.ReconstructWsman(Computer, null, shellId, Options, Credential());
        using PSSession opened = second.OpenPSSession(t, "cs-reconstructed");
        Assert.Equal(["42"], Run(opened, "$x + 1"));
        Assert.Equal("Connected", Shell("cs-kept")?.State);
        second.RemovePSSession(opened);
        Assert.Null(Shell("cs-kept"));
    }

    [Fact]
    public void Errors_come_as_result_codes()
    {
        // A wrong password: the open fails with the HTTP status, nothing is registered, no shell is left.
        using var scope = new SessionScope();
        var e = Assert.Throws<RemoteSessionsException>(() => Open(scope, "cs-refused", "wrong"));
        Assert.Equal((ResultCode.AccessDenied, (ushort?)401), (e.Code, e.HttpStatus));
        Assert.Contains("401", e.Message);
        Assert.DoesNotContain("wrong", e.Message);
        Assert.Empty(scope.FindPSSessions(Lookup.All).Found);
        Assert.Null(Shell("cs-refused"));
        e = Assert.Throws<RemoteSessionsException>(() => WsmanShell.List(Computer, Options, Credential("wrong")));
        Assert.Equal((ResultCode.AccessDenied, (ushort?)401), (e.Code, e.HttpStatus));

        // A shell id that is not a GUID.
        e = Assert.Throws<RemoteSessionsException>(() => PsrpTransport.ConnectWsman(Computer, null, "not-a-guid", Options, Credential()));
        Assert.Equal(ResultCode.InvalidArgument, e.Code);
        // Basic over HTTP without NoEncryption.
        e = Assert.Throws<RemoteSessionsException>(() => PsrpTransport.OpenWsman(Computer, null, null, 0, Options with { NoEncryption = false }, Credential()));
        Assert.Equal(ResultCode.InvalidArgument, e.Code);
        // An unknown shell: the server's fault for its commands, and no session connects to it.
        Assert.Throws<RemoteSessionsException>(() => WsmanShell.Commands(Computer, Guid.NewGuid().ToString(), Options, Credential()));
        using (PsrpTransport t = PsrpTransport.ConnectWsman(Computer, null, Guid.NewGuid().ToString(), Options, Credential()))
            Assert.Throws<RemoteSessionsException>(() => scope.ConnectPSSession(t));
        Assert.Empty(scope.FindPSSessions(Lookup.All).Found);

        // Process transports and sessions: no connect, no disconnect, no attach.
        using PsrpTransport process = PsrpTransport.StartProcess(Paths.PsrpServer, ["-s", "-NoLogo", "-NoProfile"]);
        Assert.Equal(ResultCode.NotSupported, Assert.Throws<RemoteSessionsException>(() => process.Disconnect()).Code);
        Assert.Equal(ResultCode.NotSupported, Assert.Throws<RemoteSessionsException>(() => process.Reconnect()).Code);
        Assert.Equal(ResultCode.InvalidArgument, Assert.Throws<RemoteSessionsException>(() => scope.ConnectPSSession(process)).Code);
        using PSSession local = scope.OpenPSSession(process);
        Assert.Equal(ResultCode.NotSupported, Assert.Throws<RemoteSessionsException>(() => local.Disconnect()).Code);
        Assert.Equal(ResultCode.InvalidState, Assert.Throws<RemoteSessionsException>(() => local.Reconnect()).Code); // Opened: the state is checked first
        Assert.Equal(ResultCode.NotSupported, Assert.Throws<RemoteSessionsException>(() => local.Attach(Guid.NewGuid())).Code);
        Assert.Equal(PSSessionState.Opened, local.State);
        Assert.Equal(["5"], Run(local, "5"));
    }
}
