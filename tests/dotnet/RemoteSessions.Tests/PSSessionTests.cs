using System.Management.Automation;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// New-PSSession over the Rust process and SSH transports against real peers (the PowerShell 7.6 PSRP
/// server, Debian's sshd), used through PowerShell's own Invoke-Command, Get-PSSession and
/// Remove-PSSession (spec/cmdlet-behaviour.md §2).
/// </summary>
[Collection(LeakChecks.Name)]
public sealed class PSSessionTests : IClassFixture<SshServerFixture>, IDisposable
{
    private readonly PowerShellRunner _ps = new();
    private readonly SshServer _sshd;

    public PSSessionTests(SshServerFixture sshd) => _sshd = sshd;

    public void Dispose()
    {
        _ps.Run("Get-PSSession | Remove-PSSession");
        _ps.Dispose();
    }

    private string Ssh(string extra = "") =>
        $"New-PSSession -HostName localhost -Port {_sshd.Port} -KeyFilePath '{_sshd.KeyFile}' -Options {SshServer.Options} {extra}";

    private string Process(string extra = "") => $"New-PSSession -PowerShellPath '{Paths.PsrpServer}' {extra}";

    [Fact]
    public void Process_session_keeps_state_and_is_listed_and_removed()
    {
        PSObject p = _ps.Run($"$p = {Process("-Name proc")}; $p").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("proc", p.Properties["Name"].Value);
        Assert.Equal("Process", p.Properties["Transport"].Value);
        Assert.Equal("localhost", p.Properties["ComputerName"].Value);
        Assert.Equal("Opened", _ps.Run("$p.State.ToString()").Single().BaseObject);
        _ps.Run("Invoke-Command -Session $p { $x = 41 }");
        Assert.Equal(42, _ps.Run("Invoke-Command -Session $p { $x + 1 }").Single().BaseObject);
        int remotePid = (int)_ps.Run("Invoke-Command -Session $p { $PID }").Single().BaseObject;
        Assert.Equal("proc", _ps.Run("Get-PSSession -Name proc").Single().Properties["Name"].Value);
        _ps.Run("Remove-PSSession -Name proc");
        Assert.Empty(_ps.Run("Get-PSSession"));
        Assert.True(Exited(remotePid));
    }

    [Fact]
    public void Ssh_sessions_run_commands_and_fan_out()
    {
        _ps.Run($"$s = {Ssh("-Name web")}");
        Assert.Empty(_ps.Errors);
        Assert.Equal("SSH", _ps.Run("$s.Transport").Single().BaseObject);
        _ps.Run("Invoke-Command -Session $s { $x = 41 }");
        Assert.Equal(42, _ps.Run("Invoke-Command -Session $s { $x + 1 }").Single().BaseObject);

        _ps.Run($"$p = {Process()}");
        var both = _ps.Run("Invoke-Command -Session $s,$p { param($a) \"$a on $PID\" } -ArgumentList hi");
        Assert.Equal(2, both.Count);
        Assert.All(both, o => Assert.StartsWith("hi on ", (string)o.BaseObject));
        Assert.All(both, o => Assert.Equal("localhost", o.Properties["PSComputerName"].Value));

        var two = _ps.Run($"New-PSSession -SSHConnection @{{HostName='localhost';Port={_sshd.Port};KeyFilePath='{_sshd.KeyFile}';Options={SshServer.Options}}},@{{HostName='127.0.0.1';Port={_sshd.Port};KeyFilePath='{_sshd.KeyFile}';Options={SshServer.Options}}}");
        Assert.Equal(new[] { "localhost", "127.0.0.1" }, two.Select(t => (string)t.Properties["ComputerName"].Value));
        Assert.Equal(4, _ps.Run("@(Get-PSSession | Where-Object State -eq Opened).Count").Single().BaseObject);
    }

    private string Open(string kind, string extra = "") => kind == "ssh" ? Ssh(extra) : Process(extra);

    // The test PSRP server from NuGet has only Microsoft.PowerShell.Core, so no Write-Error,
    // Write-Warning or Write-Verbose: an advanced function writes the same records through $PSCmdlet,
    // which is all those cmdlets do. (The Pester suite uses the cmdlets themselves on a real pwsh.)
    private const string WriteStreams =
        "function emit { [CmdletBinding()] param() " +
        "$PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Exception]::new('e'), 'RemoteE', 'InvalidData', $null)); " +
        "$PSCmdlet.WriteWarning('w'); $PSCmdlet.WriteVerbose('v') }; emit -Verbose";

    [Theory]
    [InlineData("ssh")]
    [InlineData("process")]
    public void Error_warning_and_verbose_records_and_using_values_cross_the_session(string kind)
    {
        _ps.Run($"$s = {Open(kind)}; $local = 'from here'");
        Assert.Empty(_ps.Errors);
        Guid instance = (Guid)_ps.Run("$s.InstanceId").Single().BaseObject;

        var output = _ps.Run("Invoke-Command -Session $s { " + WriteStreams + "; $using:local }");

        Assert.Equal("from here", Assert.Single(output).BaseObject);
        ErrorRecord error = Assert.Single(_ps.Errors);
        Assert.Equal("e", error.Exception.Message);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.StartsWith("RemoteE", error.FullyQualifiedErrorId);
        var remoteError = Assert.IsType<System.Management.Automation.Runspaces.RemotingErrorRecord>(error);
        Assert.Equal("localhost", remoteError.OriginInfo.PSComputerName);
        Assert.Equal(instance, remoteError.OriginInfo.RunspaceID);
        Assert.Equal("w", Assert.Single(_ps.Warnings).Message);
        Assert.Equal("v", Assert.Single(_ps.Verbose).Message);
    }

    [Fact]
    public void Get_PSSession_finds_sessions_by_name_id_instance_id_and_state()
    {
        PSObject web = _ps.Run($"$web = {Process("-Name web")}; $web").Single();
        PSObject db = _ps.Run($"$db = {Ssh("-Name db")}; $db").Single();
        Assert.Empty(_ps.Errors);

        Assert.Equal(new[] { "web", "db" }, _ps.Run("Get-PSSession").Select(Name));
        Assert.Equal("web", Name(_ps.Run("Get-PSSession -Name web").Single()));
        Assert.Equal("web", Name(_ps.Run("Get-PSSession -Name W*").Single()));
        Assert.Equal("db", Name(_ps.Run($"Get-PSSession -Id {db.Properties["Id"].Value}").Single()));
        Assert.Equal("web", Name(_ps.Run("Get-PSSession -InstanceId $web.InstanceId").Single()));
        Assert.Same(web.BaseObject, _ps.Run("Get-PSSession -Name web").Single().BaseObject);

        Assert.Empty(_ps.Run("Get-PSSession -Name nosuch"));
        Assert.Equal("RemoteRunspaceNotAvailableForSpecifiedName,Microsoft.PowerShell.Commands.GetPSSessionCommand", Assert.Single(_ps.Errors).FullyQualifiedErrorId);

        // A closed session stays listed until removed, so a state filter tells them apart.
        _ps.Run("$db.Runspace.Close()");
        Assert.Equal(new[] { "web" }, _ps.Run("Get-PSSession | Where-Object State -eq Opened").Select(Name));
        Assert.Equal(new[] { "db" }, _ps.Run("Get-PSSession | Where-Object State -eq Closed").Select(Name));
    }

    [Fact]
    public void Get_PSSession_remote_query_sets_are_the_engines_and_Windows_only()
    {
        _ps.Run($"$web = {Process("-Name web")}");
        // -ComputerName asks the WS-Management server for the user's sessions (Windows' default URL,
        // http://<computer>:5985/wsman), whatever sessions this PowerShell has: with nothing listening
        // there, Windows' RemotePSSessionQueryFailed as a non-terminating error, and no session.
        Assert.Empty(_ps.Run("Get-PSSession -ComputerName localhost"));
        ErrorRecord query = Assert.Single(_ps.Errors);
        Assert.Equal("RemotePSSessionQueryFailed,Microsoft.PowerShell.Commands.GetPSSessionCommand", query.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidOperation, query.CategoryInfo.Category);
        Assert.Contains("http://localhost:5985/wsman", query.Exception.Message);
        // -State belongs to those remote sets only (as in Windows' cmdlet), so alone it matches several
        // sets, none of them the default: the binder's AmbiguousParameterSet, as the engine's cmdlet gives.
        Assert.Empty(_ps.Run("Get-PSSession -State Opened"));
        ErrorRecord state = Assert.Single(_ps.Errors);
        Assert.Equal("AmbiguousParameterSet,Microsoft.PowerShell.Commands.GetPSSessionCommand", state.FullyQualifiedErrorId);
        Assert.IsType<ParameterBindingException>(state.Exception);
        // The local sets are still the engine's.
        Assert.Equal("web", _ps.Run("(Get-PSSession -Name web).Name").Single().BaseObject);
        Assert.Empty(_ps.Run("Get-PSSession -Id 987654"));
        Assert.Equal("RemoteRunspaceNotAvailableForSpecifiedSessionId,Microsoft.PowerShell.Commands.GetPSSessionCommand", Assert.Single(_ps.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Sessions_have_the_PSSession_properties_of_their_transport()
    {
        _ps.Run($"$web = {Process("-Name web")}; $db = {Ssh("-Name db")}");
        Assert.Empty(_ps.Errors);
        var seen = _ps.Run("$web, $db | ForEach-Object { '{0}|{1}|{2}|{3}|{4}|{5}|{6}|{7}|{8}' -f $_.GetType().Name, ($_.Id -gt 0), $_.Name, " +
            "$_.ComputerName, $_.ComputerType, $_.ConfigurationName, $_.State, $_.Availability, $_.Transport }").Select(o => (string)o.BaseObject);
        // PowerShell's own SSH sessions say DefaultShell; PSSession sets ConfigurationName only for its
        // built-in connection types and has no setter, so a custom transport leaves it empty.
        Assert.Equal(new[]
        {
            "PSSession|True|web|localhost|RemoteMachine||Opened|Available|Process",
            "PSSession|True|db|localhost|RemoteMachine||Opened|Available|SSH",
        }, seen);
    }

    [Fact]
    public void Sessions_render_as_the_PSSession_table()
    {
        _ps.Run($"$web = {Process("-Name web")}; $db = {Ssh("-Name db")}");
        string[] lines = _ps.Format("$web, $db").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToArray();
        // Column widths of the engine's PSSession view: Id 3 (right), Name 15, Transport 9, ComputerName 15,
        // ComputerType 15, State 13, ConfigurationName 20, Availability 13 (right).
        Assert.Equal(" Id Name            Transport ComputerName    ComputerType    State         ConfigurationName     Availability", lines[0]);
        Assert.Matches(@"^ +\d+ web +Process +localhost +RemoteMachine +Opened +Available$", lines[2]);
        Assert.Matches(@"^ +\d+ db +SSH +localhost +RemoteMachine +Opened +Available$", lines[3]);
        Assert.Equal(lines[0].IndexOf("Transport"), lines[2].IndexOf("Process"));
        Assert.Equal(lines[0].IndexOf("State"), lines[3].IndexOf("Opened"));
    }

    [Theory]
    [InlineData("$s | Remove-PSSession")]
    [InlineData("Remove-PSSession -Name web")]
    [InlineData("Remove-PSSession -Id $s.Id")]
    [InlineData("Remove-PSSession -InstanceId $s.InstanceId")]
    [InlineData("Remove-PSSession -ComputerName LOCALHOST")]
    [InlineData("Get-PSSession | Remove-PSSession")]
    public void Remove_PSSession_closes_and_forgets_the_session_and_ends_its_server(string remove)
    {
        _ps.Run($"$s = {Ssh("-Name web")}; $p = {Process("-Name other")}");
        int sshPid = (int)_ps.Run("Invoke-Command -Session $s { $PID }").Single().BaseObject;
        int procPid = (int)_ps.Run("Invoke-Command -Session $p { $PID }").Single().BaseObject;

        _ps.Run(remove);

        Assert.Empty(_ps.Errors);
        Assert.Equal("Closed", _ps.Run("$s.State.ToString()").Single().BaseObject);
        Assert.DoesNotContain("web", _ps.Run("Get-PSSession").Select(Name));
        Assert.True(Exited(sshPid));
        bool allGone = remove.StartsWith("Get-PSSession") || remove.Contains("ComputerName");
        Assert.Equal(allGone ? "Closed" : "Opened", _ps.Run("$p.State.ToString()").Single().BaseObject);
        Assert.Equal(allGone, Exited(procPid, waitMs: allGone ? 5000 : 0));
    }

    [Theory]
    [InlineData("ssh")]
    [InlineData("process")]
    public void Enter_PSSession_runs_commands_in_the_session_until_Exit_PSSession(string kind)
    {
        _ps.Run($"$s = {Open(kind)}");
        // The console host pushes only the engine's own remote runspace type (spec §0).
        Assert.Equal("System.Management.Automation.RemoteRunspace", _ps.Run("$s.Runspace.GetType().FullName").Single().BaseObject);
        int remotePid = (int)_ps.Run("Invoke-Command -Session $s { $PID }").Single().BaseObject;

        _ps.Run("Enter-PSSession $s");
        Assert.Empty(_ps.Errors);
        Assert.NotNull(_ps.Entered);
        Assert.Equal(remotePid, _ps.Run("$PID").Single().BaseObject);
        _ps.Run("$y = 'kept'");
        Assert.Equal("kept", _ps.Run("$y").Single().BaseObject);

        _ps.Run("Exit-PSSession"); // runs in the session; its host asks ours to pop
        Assert.Empty(_ps.Errors);
        Assert.Null(_ps.Entered);
        Assert.Equal(Environment.ProcessId, _ps.Run("$PID").Single().BaseObject);
        Assert.Equal("Opened", _ps.Run("$s.State.ToString()").Single().BaseObject);
        Assert.Equal("kept", _ps.Run("Invoke-Command -Session $s { $y }").Single().BaseObject);
    }

    private static string Name(PSObject session) => (string)session.Properties["Name"].Value;

    [Fact]
    public void A_50_MB_pipeline_arrives_whole_and_in_order()
    {
        _ps.Run($"$p = {Process()}");
        var items = _ps.Run("Invoke-Command -Session $p { $s = 'x' * 1000; 1..52000 | ForEach-Object { \"$_ $s\" } }");
        Assert.Equal(52000, items.Count);
        long bytes = 0;
        for (int i = 0; i < items.Count; i++)
        {
            string line = (string)items[i].BaseObject;
            Assert.StartsWith($"{i + 1} x", line);
            bytes += line.Length;
        }
        Assert.True(bytes > 50_000_000);
    }

    [Theory]
    [InlineData("wrong key", "Permission denied")]
    [InlineData("closed port", "Connection refused")]
    [InlineData("no subsystem", "subsystem request failed")]
    public void Ssh_failures_are_clear_open_errors(string what, string expected)
    {
        string script = what switch
        {
            "wrong key" => $"New-PSSession -HostName localhost -Port {_sshd.Port} -KeyFilePath '{_sshd.Directory}/host_key' -Options {SshServer.Options}",
            "closed port" => $"New-PSSession -HostName 127.0.0.1 -Port 1 -Options {SshServer.Options}",
            _ => Ssh("-Subsystem nosuch"),
        };
        Assert.Empty(_ps.Run(script));
        ErrorRecord e = Assert.Single(_ps.Errors);
        Assert.Equal("PSSessionOpenFailed", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OpenError, e.CategoryInfo.Category);
        Assert.Contains(expected, e.ErrorDetails.Message);
        Assert.Empty(_ps.Run("Get-PSSession"));
    }

    [Fact]
    public void A_missing_key_file_is_refused()
    {
        _ps.Run("New-PSSession -HostName localhost -KeyFilePath /nonexistent/key");
        Assert.Contains("The specified key file /nonexistent/key was not found.", Assert.Single(_ps.Errors).Exception.Message);
    }

    [Fact]
    public void A_killed_server_breaks_the_session()
    {
        _ps.Run($"$s = {Ssh()}");
        int remotePid = (int)_ps.Run("Invoke-Command -Session $s { $PID }").Single().BaseObject;
        System.Diagnostics.Process.GetProcessById(remotePid).Kill();
        for (int i = 0; i < 100 && (string)_ps.Run("$s.State.ToString()").Single().BaseObject != "Broken"; i++) Thread.Sleep(50);
        Assert.Equal("Broken", _ps.Run("$s.State.ToString()").Single().BaseObject);
        _ps.Run("Invoke-Command -Session $s { 1 }");
        Assert.NotEmpty(_ps.Errors);
    }

    [Fact]
    public void Sessions_created_and_removed_in_a_loop_leave_no_processes_descriptors_or_memory()
    {
        _ps.Run($"$p = {Process()}; $s = {Ssh()}; $p, $s | Remove-PSSession"); // warm up the engine and the library
        int fds = Directory.GetFiles("/proc/self/fd").Length;
        long managed = Settled();
        const int Rounds = 20;
        for (int i = 0; i < Rounds; i++)
        {
            _ps.Run($"$p = {Process()}; $s = {Ssh()}; $p, $s | Remove-PSSession");
            Assert.Empty(_ps.Errors);
        }
        _ps.Run("$p = $s = $null");
        for (int i = 0; i < 100 && ChildProcesses() > 0; i++) Thread.Sleep(50);
        Assert.Equal(0, ChildProcesses());
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, fds + 10);
        // A removed session still referenced holds about 400 KB of managed memory (its runspace, type
        // table, host): kept sessions would add some 15 MB over these 40; engine caches drift by about
        // 100 KiB over the rounds.
        // (The long soak of 1000 rounds, with figures per round, is tests/bench: rsess-bench … pssession.)
        long grew = Settled() - managed;
        Assert.True(grew < 8L * 1024 * 1024, $"managed memory grew by {grew / 1024} KiB over {Rounds} rounds of two sessions");
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    // Children of this test process other than sshd's, which the fixture owns.
    private static int ChildProcesses() =>
        Directory.GetDirectories("/proc").Count(d =>
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(d, "stat"));
                string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return f[1] == Environment.ProcessId.ToString() && f[0] != "Z" && !stat.Contains("(sshd)");
            }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });

    private static bool Exited(int pid, int waitMs = 5000)
    {
        for (int waited = 0; ; waited += 50)
        {
            try
            {
                if (File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ")) return true;
            }
            catch (IOException) { return true; } // gone
            if (waited >= waitMs) return false;
            Thread.Sleep(50);
        }
    }
}

/// <summary>One sshd for all tests of a class, running the test PSRP server.</summary>
public sealed class SshServerFixture : SshServer
{
    public SshServerFixture() : base(Paths.PsrpServer) => Start();
}

/// <summary>
/// The tests that count this process's descriptors, children and memory run alone: other test classes
/// running at the same time (pooled WS-Management connections, their own servers) would change the counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LeakChecks
{
    public const string Name = "Leak checks";
}
