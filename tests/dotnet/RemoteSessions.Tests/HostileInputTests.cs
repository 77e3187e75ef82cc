using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// Hostile and mistaken input through the module (issue 16): computer names that are not host names,
/// -PowerShellPath naming something that is not a file, a PSRP server that writes without ever ending its
/// line, and an SSH peer that accepts and never speaks. Each ends with a clear error in bounded time (and
/// memory), and the module keeps working. In the leak-check collection, so the memory figure is not
/// another test's.
/// </summary>
[Collection(LeakChecks.Name)]
public sealed class HostileInputTests : IDisposable
{
    private readonly PowerShellRunner _ps = new();

    public void Dispose()
    {
        _ps.Run("Get-PSSession | Remove-PSSession; Get-CimSession | Remove-CimSession");
        _ps.Dispose();
    }

    [Theory]
    [InlineData("127.0.0.1#frag")]
    [InlineData("localhost/m/ok?")]
    [InlineData("user@host")]
    [InlineData("host:8080")]
    [InlineData("http://host")]
    public void Computer_names_that_are_not_host_names_are_invalid_arguments(string name)
    {
        Assert.Empty(_ps.Run($"New-CimSession -ComputerName '{name}' -Port 5985 -SkipTestConnection"));
        ErrorRecord e = Assert.Single(_ps.Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.Contains($"'{name}' is not a valid computer name", e.ErrorDetails?.Message ?? e.Exception.Message);
        Assert.Empty(_ps.Run("Get-CimSession"));
    }

    [Theory]
    [InlineData("::1")]
    [InlineData("[::1]")]
    [InlineData("127.0.0.1")]
    [InlineData("srv-1.example.com")]
    public void Host_names_and_address_literals_make_sessions(string name)
    {
        Assert.Equal(name, _ps.Run($"(New-CimSession -ComputerName '{name}' -SkipTestConnection).ComputerName").Single().BaseObject);
        Assert.Empty(_ps.Errors);
    }

    [Fact]
    public void PowerShellPath_env_PATH_is_refused_as_not_a_file()
    {
        var e = (ErrorRecord)_ps.Run("try { New-PSSession -PowerShellPath env:PATH -ErrorAction Stop } catch { $_ }").Single().BaseObject;
        Assert.Equal("PowerShellPathNotFileSystem,Microsoft.PowerShell.Commands.NewPSSessionCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.Contains("'env:PATH'", e.Exception.Message);
        Assert.Empty(_ps.Run("Get-PSSession"));
    }

    [Fact]
    public void An_endless_line_fails_the_open_in_bounded_memory()
    {
        string dir = Directory.CreateTempSubdirectory("rsess-hostile-").FullName;
        try
        {
            string server = Path.Combine(dir, "endless-server");
            File.WriteAllText(server, "#!/bin/sh\nexec cat /dev/zero\n");
            File.SetUnixFileMode(server, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;
            // The server never ends: the open can only fail by the line cap, which the message names.
            Assert.Empty(_ps.Run($"New-PSSession -PowerShellPath '{server}'"));
            ErrorRecord e = Assert.Single(_ps.Errors);
            Assert.Equal(ErrorCategory.OpenError, e.CategoryInfo.Category);
            Assert.Contains("longer than 64 MiB", e.ErrorDetails.Message);
            long grownMiB = (Process.GetCurrentProcess().PeakWorkingSet64 - peak) / (1024 * 1024);
            Assert.True(grownMiB < 600, $"peak working set grew {grownMiB} MiB");
            Assert.Empty(_ps.Run("Get-PSSession"));
            Assert.Equal(2, _ps.Run($"$s = New-PSSession -PowerShellPath '{Paths.PsrpServer}'; Invoke-Command -Session $s {{ 1 + 1 }}").Single().BaseObject);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_silent_ssh_peer_ends_at_the_connecting_timeout()
    {
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            int port = ((IPEndPoint)silent.LocalEndpoint).Port;
            // The peer never speaks: the open can only end by the connecting timeout, which the message names.
            Assert.Empty(_ps.Run($"New-PSSession -HostName 127.0.0.1 -Port {port} -ConnectingTimeout 2000 -Options @{{BatchMode='yes'; StrictHostKeyChecking='no'; UserKnownHostsFile='/dev/null'}}"));
            ErrorRecord e = Assert.Single(_ps.Errors);
            Assert.Equal(ErrorCategory.OpenError, e.CategoryInfo.Category);
            Assert.Contains("SSH connection attempt failed after time out: 2 seconds", e.ErrorDetails.Message);
        }
        finally
        {
            silent.Stop();
        }
    }
}
