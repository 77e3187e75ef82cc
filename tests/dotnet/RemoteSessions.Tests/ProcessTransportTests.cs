using System.Management.Automation;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// A real PowerShell session whose PSRP packets run over the Rust process transport, against a real
/// PowerShell 7.6 server (pwsh -s, or the engine's own server built from NuGet).
/// </summary>
public sealed class ProcessTransportTests : IDisposable
{
    private readonly PowerShellRunner _ps = new();

    public void Dispose() => _ps.Dispose();

    private string OpenRunspace(string program) => $$"""
        $ci = [RemoteSessions.PSSessions.ProcessConnectionInfo]::new('{{program}}', [string[]]@('-s', '-NoLogo', '-NoProfile'))
        $rs = [runspacefactory]::CreateRunspace($ci, $Host, [System.Management.Automation.Runspaces.TypeTable]::LoadDefaultTypeFiles())
        $rs.Open()
        """;

    [Fact]
    public void Commands_run_remotely_and_state_is_kept()
    {
        _ps.Run(OpenRunspace(Paths.PsrpServer));
        Assert.Equal("Opened", _ps.Run("\"$($rs.RunspaceStateInfo.State)$($rs.RunspaceStateInfo.Reason)\"").Single().BaseObject);
        int remotePid = (int)_ps.Run("$p = [powershell]::Create(); $p.Runspace = $rs; $p.AddScript('$x = 41; $PID').Invoke()").Single().BaseObject;
        Assert.NotEqual(Environment.ProcessId, remotePid);
        Assert.Equal(42, _ps.Run("$p = [powershell]::Create(); $p.Runspace = $rs; $p.AddScript('$x + 1').Invoke()").Single().BaseObject);
        _ps.Run("$rs.Close()");
        Assert.Equal("Closed", _ps.Run("$rs.RunspaceStateInfo.State.ToString()").Single().BaseObject);
        Assert.False(ProcessExists(remotePid));
    }

    [Fact]
    public void Large_output_arrives_whole_and_in_order()
    {
        _ps.Run(OpenRunspace(Paths.PsrpServer));
        var lines = _ps.Run("$p = [powershell]::Create(); $p.Runspace = $rs; $p.AddScript('1..20000 | ForEach-Object { \"line $_ \" + (\"x\" * 200) }').Invoke()");
        Assert.Equal(20000, lines.Count);
        for (int i = 0; i < lines.Count; i += 997) Assert.StartsWith($"line {i + 1} ", (string)lines[i].BaseObject);
        _ps.Run("$rs.Close()");
    }

    [Fact]
    public void A_missing_server_fails_the_open_with_a_clear_error()
    {
        _ps.Run(OpenRunspace("/nonexistent/pwsh"));
        Assert.Contains("Cannot start the PowerShell server '/nonexistent/pwsh'", Assert.Single(_ps.Errors).Exception.Message);
        Assert.Equal("Broken", _ps.Run("$rs.RunspaceStateInfo.State.ToString()").Single().BaseObject);
    }

    [Fact]
    public void A_killed_server_breaks_the_session()
    {
        _ps.Run(OpenRunspace(Paths.PsrpServer));
        int remotePid = (int)_ps.Run("$p = [powershell]::Create(); $p.Runspace = $rs; $p.AddScript('$PID').Invoke()").Single().BaseObject;
        System.Diagnostics.Process.GetProcessById(remotePid).Kill();
        for (int i = 0; i < 100 && (string)_ps.Run("$rs.RunspaceStateInfo.State.ToString()").Single().BaseObject != "Broken"; i++)
            Thread.Sleep(50);
        Assert.Equal("Broken", _ps.Run("$rs.RunspaceStateInfo.State.ToString()").Single().BaseObject);
        Assert.Contains("session is broken", (string)_ps.Run("$rs.RunspaceStateInfo.Reason.Message").Single().BaseObject);
    }

    private static bool ProcessExists(int pid)
    {
        for (int i = 0; i < 100; i++)
        {
            if (!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ")) return false;
            Thread.Sleep(50);
        }
        return true;
    }
}
