using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RemoteSessions.TestPeers;

/// <summary>
/// Debian's sshd on a free 127.0.0.1 port with its own configuration, a throwaway host key and client
/// key, and a <c>powershell</c> subsystem running <paramref name="psrpServer"/>. Stopped on dispose.
/// Shared by the xunit tests and the benchmark.
/// </summary>
/// <param name="psrpServer">The PSRP server executable the subsystem runs.</param>
public class SshServer(string psrpServer) : IDisposable
{
    private Process? _sshd;

    /// <summary>Starts sshd; call once.</summary>
    public SshServer Start()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("rsess-sshd-").FullName;
        Port = FreePort();
        KeyFile = Path.Combine(Directory, "client_key");
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(Directory, "host_key"));
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", KeyFile);
        File.Copy(KeyFile + ".pub", Path.Combine(Directory, "authorized_keys"));
        System.IO.Directory.CreateDirectory("/run/sshd"); // sshd's privilege separation directory
        string config = Path.Combine(Directory, "sshd_config");
        File.WriteAllLines(config,
        [
            $"Port {Port}",
            "ListenAddress 127.0.0.1",
            $"HostKey {Directory}/host_key",
            $"PidFile {Directory}/sshd.pid",
            $"AuthorizedKeysFile {Directory}/authorized_keys",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "StrictModes no",
            $"Subsystem powershell {psrpServer} -sshs -NoLogo -NoProfile",
        ]);
        _sshd = Process.Start(new ProcessStartInfo("/usr/sbin/sshd", ["-D", "-e", "-f", config]) { RedirectStandardError = true })!;
        _sshd.ErrorDataReceived += (_, _) => { };
        _sshd.BeginErrorReadLine();
        for (int i = 0; i < 100 && !Accepts(Port); i++) Thread.Sleep(50);
        return this;
    }

    public string Directory { get; private set; } = "";
    public int Port { get; private set; }
    public string KeyFile { get; private set; } = "";

    /// <summary>ssh options that accept the throwaway host key without touching ~/.ssh.</summary>
    public const string Options = "@{StrictHostKeyChecking='no'; UserKnownHostsFile='/dev/null'; LogLevel='ERROR'}";

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args))!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} failed with {p.ExitCode}");
    }

    /// <summary>
    /// Stops sshd the hard way: the listening daemon and every per-connection sshd below it (with their
    /// subsystem servers) are killed, so established connections drop too, as when a host goes down.
    /// (Killing only the listener, as `systemctl stop ssh` does, leaves open sessions running.)
    /// </summary>
    public void Stop()
    {
        if (_sshd is null || _sshd.HasExited) return;
        try { _sshd.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _sshd.WaitForExit();
    }

    public void Dispose()
    {
        if (_sshd is null) return;
        Stop();
        _sshd.Dispose();
        GC.SuppressFinalize(this);
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
