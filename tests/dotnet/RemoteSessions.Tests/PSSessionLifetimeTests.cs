using System.Diagnostics;
using System.Management.Automation;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// What happens to PSSessions when their peer or their owner goes away: a stopped sshd breaks the
/// session, and no server or ssh process outlives the PowerShell that started it, whether its
/// runspace closes or the whole process is killed.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PSSessionLifetimeTests : IClassFixture<SshServerFixture>
{
    private readonly SshServer _sshd;

    public PSSessionLifetimeTests(SshServerFixture sshd) => _sshd = sshd;

    private static string Ssh(SshServer sshd) =>
        $"New-PSSession -HostName localhost -Port {sshd.Port} -KeyFilePath '{sshd.KeyFile}' -Options {SshServer.Options}";

    private static string Process() => $"New-PSSession -PowerShellPath '{Paths.PsrpServer}'";

    [Fact]
    public async Task Stopping_sshd_breaks_the_session_and_commands_on_it_fail_clearly()
    {
        using var ps = new PowerShellRunner();
        using var sshd = new SshServer(Paths.PsrpServer).Start();
        ps.Run($"$s = {Ssh(sshd)}");
        Assert.Empty(ps.Errors);
        int remotePid = (int)ps.Run("Invoke-Command -Session $s { $PID }").Single().BaseObject;

        sshd.Stop();

        Assert.True(Exited(remotePid));
        for (int i = 0; i < 200 && State(ps) != "Broken"; i++) Thread.Sleep(50);
        Assert.Equal("Broken", State(ps));
        Assert.Contains("SSH transport process has abruptly terminated", (string)ps.Run("$s.Runspace.RunspaceStateInfo.Reason.Message").Single().BaseObject);
        Assert.Equal("None", ps.Run("$s.Availability.ToString()").Single().BaseObject);

        // A hang fails the test with a TimeoutException instead of hanging it.
        var output = await Task.Run(() => ps.Run("Invoke-Command -Session $s { 1 }")).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Empty(output);
        Assert.Equal(2, ps.Errors.Count);
        Assert.StartsWith("InvokeCommandCommandInvalidSessionState", ps.Errors[0].FullyQualifiedErrorId);
        Assert.Contains("The session state is Broken", ps.Errors[0].Exception.Message);
        Assert.StartsWith("No valid sessions were specified.", ps.Errors[1].Exception.Message);
    }

    [Fact]
    public void Closing_the_runspace_ends_the_server_and_ssh_processes()
    {
        var ps = new PowerShellRunner();
        ps.Run($"$p = {Process()}; $s = {Ssh(_sshd)}");
        Assert.Empty(ps.Errors);
        int processServer = (int)ps.Run("Invoke-Command -Session $p { $PID }").Single().BaseObject;
        int sshServer = (int)ps.Run("Invoke-Command -Session $s { $PID }").Single().BaseObject;
        int[] ssh = ChildrenOf(Environment.ProcessId).Where(c => c.Command.StartsWith("ssh\0") && c.Command.Contains($"\0{_sshd.Port}\0")).Select(c => c.Pid).ToArray();
        Assert.NotEmpty(ssh);
        Assert.Contains(processServer, ChildrenOf(Environment.ProcessId).Select(c => c.Pid));

        ps.Dispose(); // closes the runspace; no Remove-PSSession

        Assert.True(Exited(processServer));
        Assert.True(Exited(sshServer));
        Assert.All(ssh, pid => Assert.True(Exited(pid)));
    }

    [Fact]
    public async Task Killing_the_PowerShell_process_ends_its_server_and_ssh_processes_even_deaf_ones()
    {
        // A server that never reads its input does not notice its client's end by itself: only the
        // kill-on-parent-death the transport arms ends it.
        string deaf = Path.Combine(_sshd.Directory, "deaf-server");
        File.WriteAllText(deaf, "#!/bin/sh\nexec sleep 1000\n");
        File.SetUnixFileMode(deaf, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string script = Path.Combine(_sshd.Directory, "sessions.ps1");
        File.WriteAllText(script, $$"""
            Import-Module '{{Paths.ModuleManifest}}' -ErrorAction Stop
            $p = {{Process()}}
            $s = {{Ssh(_sshd)}}
            $ci = [RemoteSessions.PSSessions.ProcessConnectionInfo]::new('{{deaf}}', [string[]]@())
            $deaf = [runspacefactory]::CreateRunspace($ci, $Host, [System.Management.Automation.Runspaces.TypeTable]::LoadDefaultTypeFiles())
            $deaf.OpenAsync()
            "pids $(Invoke-Command -Session $p { $PID }) $(Invoke-Command -Session $s { $PID })"
            [System.Threading.Thread]::Sleep(-1)
            """);
        using var host = System.Diagnostics.Process.Start(new ProcessStartInfo(Paths.TestHost, [script]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        host.ErrorDataReceived += (_, _) => { };
        host.BeginErrorReadLine();
        string? line;
        using (var reported = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            try
            {
                while ((line = await host.StandardOutput.ReadLineAsync(reported.Token)) is { } l && !l.StartsWith("pids ")) { }
            }
            finally
            {
                if (reported.IsCancellationRequested) host.Kill();
            }
        }
        Assert.True(line is not null, "the host ended without reporting its sessions");
        int[] remote = line.Split(' ')[1..].Select(int.Parse).ToArray();
        var children = ChildrenOf(host.Id);
        Assert.Contains(remote[0], children.Select(c => c.Pid)); // the process session's server
        int[] ssh = children.Where(c => c.Command.StartsWith("ssh\0")).Select(c => c.Pid).ToArray();
        Assert.Single(ssh);
        int[] sleeper = [];
        for (int i = 0; i < 200 && sleeper.Length == 0; i++, Thread.Sleep(50))
            sleeper = ChildrenOf(host.Id).Where(c => c.Command == "sleep\01000\0").Select(c => c.Pid).ToArray();
        Assert.Single(sleeper);

        host.Kill(); // SIGKILL: no cleanup code of the host runs
        host.WaitForExit();

        Assert.True(Exited(remote[0]));
        Assert.True(Exited(ssh[0]));
        Assert.True(Exited(remote[1])); // the SSH session's server, under sshd, sees its connection end
        Assert.True(Exited(sleeper[0]));
    }

    private static string State(PowerShellRunner ps) => (string)ps.Run("$s.State.ToString()").Single().BaseObject;

    // Processes whose parent is `parent`, with their command line (arguments separated by NUL).
    private static List<(int Pid, string Command)> ChildrenOf(int parent)
    {
        var found = new List<(int, string)>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (f[1] == parent.ToString() && f[0] != "Z") found.Add((pid, File.ReadAllText(Path.Combine(dir, "cmdline"))));
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    // Waits (bounded) for a process to end; a zombie has ended.
    private static bool Exited(int pid)
    {
        for (int i = 0; i < 200; i++)
        {
            try
            {
                if (!File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ")) { Thread.Sleep(50); continue; }
            }
            catch (IOException) { }
            return true;
        }
        return false;
    }
}
