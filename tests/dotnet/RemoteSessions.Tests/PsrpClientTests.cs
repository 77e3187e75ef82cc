using RemoteSessions.Native;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// PowerShell sessions opened by the library itself from C# (SessionScope.OpenPSSession, PSSession.Invoke,
/// PSPipeline), with no PowerShell runspace in this process: against a real <c>pwsh -s</c> started as a
/// process and behind sshd.
/// </summary>
public sealed class PsrpClientTests(SshServerFixture sshd) : IClassFixture<SshServerFixture>
{
    private static readonly string[] ServerArgs = ["-s", "-NoLogo", "-NoProfile"];

    private static PSSession Open(SessionScope scope, string? name = null) =>
        scope.OpenPSSession(PsrpTransport.StartProcess(Paths.PsrpServer, ServerArgs), name);

    private static List<(PSStream Stream, string Text)> Run(PSSession s, string script)
    {
        using PSPipeline p = s.Invoke(script);
        var items = new List<(PSStream, string)>();
        foreach (PSStreamItem item in p.ReadAll())
            using (item.Value)
                items.Add((item.Stream, item.Text));
        return items;
    }

    [Fact]
    public void A_process_session_keeps_state_and_reports_every_stream()
    {
        using var scope = new SessionScope();
        using PSSession s = Open(scope, "worker");
        Assert.Equal(("worker", "localhost", "Process", PSSessionState.Opened), (s.Name, s.ComputerName, s.Transport, s.State));
        Assert.Single(scope.FindPSSessions(Lookup.Name, ["work*"]).Found);

        Assert.Empty(Run(s, "$kept = 'ünïcødé ✓'"));
        var items = Run(s, "$kept; Write-Warning 'w'; Write-Verbose 'v' -Verbose; Write-Information 'i'; Write-Error 'e' -ErrorId Mine; 'last'");
        Assert.Equal(
            [(PSStream.Output, "ünïcødé ✓"), (PSStream.Warning, "w"), (PSStream.Verbose, "v"), (PSStream.Information, "i"), (PSStream.Error, "e"), (PSStream.Output, "last")],
            items);

        using PSPipeline failing = s.Invoke("Get-Item /no/such/path -ErrorAction Stop");
        Assert.Empty(failing.ReadAll());
        Assert.Equal(PSInvocationState.Failed, failing.State);
        using PSValue? reason = failing.Reason;
        Assert.NotNull(reason);
        Assert.Equal("PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand", reason.ErrorId);
        Assert.Equal(13, reason.ErrorCategory); // ObjectNotFound
        Assert.Contains("/no/such/path", reason.RecordText(PSStream.Error));

        scope.RemovePSSession(s);
        Assert.Equal(PSSessionState.Closed, s.State);
        var e = Assert.Throws<RemoteSessionsException>(() => s.Invoke("1"));
        Assert.Equal(ResultCode.InvalidState, e.Code);
    }

    [Fact]
    public void Parameters_arguments_and_input_arrive_with_their_types_and_come_back_typed()
    {
        using var scope = new SessionScope();
        using PSSession s = Open(scope);
        using PSCommand command = PSCommand.Script(
                "param($Text, $Long, $Double, $Flag, $Table, [switch]$On) process { [pscustomobject]@{ In = $_; Types = ($Text, $Long, $Double, $Flag, $Table | ForEach-Object { $_.GetType().Name }) -join ','; Sum = $Long + $Table.k; On = [bool]$On; When = [datetime]::new(2024, 2, 29, 12, 0, 0, [DateTimeKind]::Utc) } }")
            .AddParameter("Text", "a <b> & \"c\"")
            .AddParameter("Long", 5_000_000_000L)
            .AddArgument(0.25)
            .AddParameter("Flag", true)
            .AddParameter("Table", PSValue.FromClixml("<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Collections.Hashtable</T></TN><DCT><En><S N=\"Key\">k</S><I32 N=\"Value\">2</I32></En></DCT></Obj>"))
            .AddSwitch("On");
        using PSPipeline p = s.Invoke([command], [1, "two", null]);
        var outputs = p.ReadAll().ToList();
        Assert.Equal(PSInvocationState.Completed, p.State);
        Assert.Equal(3, outputs.Count);
        using PSValue first = outputs[0].Value;
        Assert.Equal(PSValueKind.Object, first.Kind);
        Assert.Equal("String,Int64,Double,Boolean,Hashtable", first.Property("types")!.ToString());
        Assert.Equal(5_000_000_002L, first.Property("Sum")!.AsInt64());
        Assert.True(first.Property("On")!.AsBoolean());
        Assert.Equal(1, first.Property("In")!.AsInt64());
        Assert.Equal(new DateTimeOffset(2024, 2, 29, 12, 0, 0, TimeSpan.Zero), first.Property("When")!.AsDateTimeOffset());
        Assert.Null(first.Property("Missing"));
        Assert.Equal("two", outputs[1].Value.Property("In")!.ToString());
        Assert.Equal(PSValueKind.Null, outputs[2].Value.Property("In")!.Kind);
        Assert.Contains("<I64 N=\"Sum\">5000000002</I64>", first.ToClixml());
        Assert.Throws<ArgumentException>(() => PSValue.From(new Uri("http://x")));
        var e = Assert.Throws<RemoteSessionsException>(() => PSValue.FromClixml("<nope"));
        Assert.Equal(ResultCode.InvalidArgument, e.Code);
        e = Assert.Throws<RemoteSessionsException>(() => outputs[1].Value.Property("In")!.AsInt64());
        Assert.Equal(ResultCode.InvalidArgument, e.Code);
        foreach (var o in outputs) o.Value.Dispose();
        scope.RemovePSSession(s);
    }

    [Fact]
    public void SecureStrings_go_encrypted_with_the_session_key_and_come_back_readable_only_as_SecureStrings()
    {
        using var scope = new SessionScope();
        using PSSession s = Open(scope);
        using var secure = new System.Security.SecureString();
        foreach (char c in "p@ss wörd ✓") secure.AppendChar(c);
        using PSValue secret = PSValue.FromSecureString(secure);
        Assert.Equal(PSValueKind.SecureString, secret.Kind);
        Assert.Equal("System.Security.SecureString", secret.ToString());
        Assert.DoesNotContain("p@ss", secret.ToClixml());
        using PSValue copy = PSValue.From(secret);
        using (System.Security.SecureString copied = copy.ToSecureString())
            Assert.Equal("p@ss wörd ✓", new System.Net.NetworkCredential("", copied).Password);
        using PSCommand check = PSCommand.Script("param([securestring]$s) [System.Net.NetworkCredential]::new('', $s).Password -ceq 'p@ss wörd ✓'").AddParameter("s", secret);
        using PSPipeline p = s.Invoke([check]);
        var checkedItems = p.ReadAll().ToList();
        Assert.Equal(PSInvocationState.Completed, p.State);
        Assert.True(Assert.Single(checkedItems).Value.AsBoolean());

        var items = Run(s, "ConvertTo-SecureString 'p@ss' -AsPlainText -Force");
        Assert.Equal([(PSStream.Output, "System.Security.SecureString")], items);
        using PSPipeline again = s.Invoke("ConvertTo-SecureString 'p@ss' -AsPlainText -Force");
        using PSValue back = Assert.Single(again.ReadAll()).Value;
        Assert.Equal(PSValueKind.SecureString, back.Kind);
        using System.Security.SecureString read = back.ToSecureString();
        Assert.Equal("p@ss", new System.Net.NetworkCredential("", read).Password);
        using PSValue plain = PSValue.From("plain");
        var e = Assert.Throws<RemoteSessionsException>(() => plain.ToSecureString());
        Assert.Equal(ResultCode.InvalidArgument, e.Code);
        scope.RemovePSSession(s);
    }

    [Fact]
    public async Task Cancelling_a_read_stops_the_pipeline_and_the_session_goes_on()
    {
        using var scope = new SessionScope();
        using PSSession s = Open(scope);
        using PSPipeline p = s.Invoke("1..1000 | ForEach-Object { $_; Start-Sleep -Milliseconds 50 }");
        using var cts = new CancellationTokenSource();
        var seen = new List<long>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (PSStreamItem item in p.ReadAllAsync(cts.Token))
            {
                using (item.Value) seen.Add(item.Value.AsInt64());
                if (seen.Count == 3) cts.Cancel();
            }
        });
        Assert.Equal([1L, 2L, 3L], seen);
        Assert.Equal(PSInvocationState.Stopped, p.State);
        Assert.Equal([(PSStream.Output, "7")], Run(s, "3 + 4"));
        scope.RemovePSSession(s);
    }

    [Fact]
    public void A_server_that_dies_mid_pipeline_breaks_the_session_with_a_clear_error()
    {
        using var scope = new SessionScope();
        using PSSession s = Open(scope);
        using PSPipeline p = s.Invoke("'alive'; Stop-Process -Id $PID -Force");
        using (PSStreamItem first = p.Next()!) Assert.Equal("alive", first.Text);
        var e = Assert.Throws<RemoteSessionsException>(() => p.Next());
        Assert.Equal(ResultCode.TransportBroken, e.Code);
        Assert.Contains("closed the connection", e.Message);
        Assert.Equal(PSSessionState.Broken, s.State);
        scope.RemovePSSession(s);
    }

    [Fact]
    public void A_session_over_ssh_runs_in_a_real_pwsh_behind_sshd()
    {
        using var scope = new SessionScope();
        PsrpTransport ssh = PsrpTransport.StartSsh("127.0.0.1", null, sshd.Port, sshd.KeyFile, null,
            ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]);
        using PSSession s = scope.OpenPSSession(ssh);
        Assert.Equal(("127.0.0.1", "SSH"), (s.ComputerName, s.Transport));
        Run(s, "$n = 20");
        Assert.Equal([(PSStream.Output, "21")], Run(s, "$n + 1"));
        scope.RemovePSSession(s);
        ssh.Dispose(); // spent: the session owned it, so this frees nothing
    }

    [Fact]
    public void A_failed_open_registers_nothing_and_says_why()
    {
        using var scope = new SessionScope();
        using PsrpTransport notPsrp = PsrpTransport.StartProcess("sh", ["-c", "echo hello; sleep 5"]);
        var e = Assert.Throws<RemoteSessionsException>(() => scope.OpenPSSession(notPsrp));
        Assert.Equal(ResultCode.BadReply, e.Code);
        using PsrpTransport silent = PsrpTransport.StartProcess("sleep", ["30"]);
        e = Assert.Throws<RemoteSessionsException>(() => scope.OpenPSSession(silent, timeoutMs: 200));
        Assert.Equal(ResultCode.Timeout, e.Code);
        Assert.Empty(scope.FindPSSessions(Lookup.All).Found);
    }
}
