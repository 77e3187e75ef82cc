using System.Management.Automation;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// New-PSSession over the Rust process and SSH transports against real peers (the PowerShell 7.6 PSRP
/// server, Debian's sshd), used through PowerShell's own Invoke-Command, Get-PSSession and
/// Remove-PSSession (spec/cmdlet-behaviour.md §2).
/// </summary>
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
        Assert.Equal("PSSessionOpenFailed,RemoteSessions.Commands.NewPSSessionCommand", e.FullyQualifiedErrorId);
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
    public void Sessions_created_and_removed_in_a_loop_leave_no_processes_or_descriptors()
    {
        _ps.Run($"$p = {Process()}; $p | Remove-PSSession"); // warm up the engine and the library
        int fds = Directory.GetFiles("/proc/self/fd").Length;
        for (int i = 0; i < 25; i++)
        {
            _ps.Run($"$p = {Process()}; $s = {Ssh()}; $p, $s | Remove-PSSession");
            Assert.Empty(_ps.Errors);
        }
        for (int i = 0; i < 100 && ChildProcesses() > 0; i++) Thread.Sleep(50);
        Assert.Equal(0, ChildProcesses());
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, fds + 10);
    }

    [Fact]
    public void A_thousand_process_sessions_leave_no_processes_descriptors_or_memory()
    {
        const string round = "$p = New-PSSession -PowerShellPath $server; $p | Remove-PSSession";
        _ps.Run($"$server = '{Paths.PsrpServer}'; 1..20 | ForEach-Object {{ {round} }}"); // warm up
        int fds = Directory.GetFiles("/proc/self/fd").Length;
        long managed = Settled();
        _ps.Run($"1..1000 | ForEach-Object {{ {round} }}");
        Assert.Empty(_ps.Errors);
        for (int i = 0; i < 100 && ChildProcesses() > 0; i++) Thread.Sleep(50);
        Assert.Equal(0, ChildProcesses());
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, fds + 10);
        // Managed memory after collection may drift a little (engine caches), not by a session's worth per round.
        Assert.InRange(Settled() - managed, long.MinValue, 32L * 1024 * 1024);
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

    private static bool Exited(int pid)
    {
        for (int i = 0; i < 100; i++)
        {
            if (!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ")) return true;
            Thread.Sleep(50);
        }
        return false;
    }
}

/// <summary>One sshd for all tests of a class, running the test PSRP server.</summary>
public sealed class SshServerFixture : SshServer
{
    public SshServerFixture() : base(Paths.PsrpServer) => Start();
}
