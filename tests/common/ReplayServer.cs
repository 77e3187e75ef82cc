using System.Diagnostics;
using System.Text;

namespace RemoteSessions.TestPeers;

/// <summary>
/// The WS-Management replay server (build/replay-server/rsess-replay) on free 127.0.0.1 ports,
/// answering from ../shared/fixtures. Stopped on dispose (stdin closed, killed after a bounded wait).
/// Shared by the xunit tests and the benchmark.
/// </summary>
/// <param name="executable">rsess-replay; null: RSESS_REPLAY_SERVER, else build/replay-server/rsess-replay in the repository.</param>
/// <param name="fixtures">The fixtures folder; null: RSESS_FIXTURES, else ../shared/fixtures beside the repository.</param>
public class ReplayServer(string? executable = null, string? fixtures = null) : IDisposable
{
    private Process? _process;
    private readonly StringBuilder _stderr = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Starts the server with <paramref name="httpPorts"/> HTTP ports and, if asked, one HTTPS port; call once.
    /// With <paramref name="clientCa"/> (a CA certificate PEM) also an HTTPS port that requires a client certificate that CA issued (<see cref="MutualPort"/>).</summary>
    public ReplayServer Start(int httpPorts = 1, bool https = false, string user = "rsess", string password = "Replay-Pa55", string? clientCa = null)
    {
        User = user;
        Password = password;
        string exe = executable ?? Env("RSESS_REPLAY_SERVER") ?? Path.Combine(FindRepo(), "build", "replay-server", "rsess-replay");
        string dir = fixtures ?? Env("RSESS_FIXTURES") ?? Path.GetFullPath(Path.Combine(FindRepo(), "..", "shared", "fixtures"));
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "--fixtures", dir, "--user", user, "--password", password, "--http-ports", httpPorts.ToString() })
            psi.ArgumentList.Add(a);
        if (https)
        {
            CertificatePath = Path.Combine(Path.GetTempPath(), $"rsess-replay-{Guid.NewGuid():N}.pem");
            psi.ArgumentList.Add("--https");
            psi.ArgumentList.Add("--cert-out");
            psi.ArgumentList.Add(CertificatePath);
        }
        if (clientCa is not null)
        {
            psi.ArgumentList.Add("--client-ca");
            psi.ArgumentList.Add(clientCa);
        }
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is not { } ready || !ready.StartsWith("listening "))
            throw new InvalidOperationException($"{exe} did not report its ports; stderr: {Stderr}");
        // "listening http=P1,P2,... https=P"
        foreach (string part in ready["listening ".Length..].Split(' '))
        {
            string[] kv = part.Split('=', 2);
            if (kv[0] == "http") HttpPorts = kv[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            if (kv[0] == "https") HttpsPort = int.Parse(kv[1]);
            if (kv[0] == "mutual") MutualPort = int.Parse(kv[1]);
        }
        return this;
    }

    /// <summary>The first HTTP port.</summary>
    public int HttpPort => HttpPorts[0];
    /// <summary>All HTTP ports, in the order the server reported them.</summary>
    public IReadOnlyList<int> HttpPorts { get; private set; } = [];
    /// <summary>The HTTPS port, 0 when not started with HTTPS.</summary>
    public int HttpsPort { get; private set; }
    /// <summary>The HTTPS port that requires a client certificate, 0 when not started with a client CA.</summary>
    public int MutualPort { get; private set; }
    /// <summary>PEM file of the server's self-signed certificate (for SSL_CERT_FILE), or null without HTTPS.</summary>
    public string? CertificatePath { get; private set; }
    /// <summary>The Basic user name the server accepts.</summary>
    public string User { get; private set; } = "";
    /// <summary>The Basic password the server accepts.</summary>
    public string Password { get; private set; } = "";
    /// <summary>What the server wrote to stderr so far (its no-match explanations).</summary>
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>The WS-Man URL of an HTTP port (default the first), optionally under a misbehaviour mode.</summary>
    public string Url(int? port = null, string? misbehave = null) =>
        $"http://127.0.0.1:{port ?? HttpPort}" + (misbehave is null ? "/wsman" : $"/misbehave/{misbehave}/wsman");

    /// <summary>The request log of a port: one <c>&lt;fixture or NOMATCH&gt; &lt;action&gt; &lt;class&gt;</c> per request.</summary>
    public IReadOnlyList<string> Requests(int? port = null) =>
        _http.GetStringAsync($"http://127.0.0.1:{port ?? HttpPort}/replay/requests").GetAwaiter().GetResult()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Clears the request log of a port.</summary>
    public void ClearRequests(int? port = null) =>
        _http.DeleteAsync($"http://127.0.0.1:{port ?? HttpPort}/replay/requests").GetAwaiter().GetResult().EnsureSuccessStatusCode();

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cargo.toml"))) return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root (Cargo.toml) above " + AppContext.BaseDirectory);
    }

    /// <summary>Closes the server's stdin (it exits on EOF), waits up to 5 s, then kills it.</summary>
    public void Dispose()
    {
        _http.Dispose();
        if (_process is not null)
        {
            try { _process.StandardInput.Close(); } catch (IOException) { }
            if (!_process.WaitForExit(5000))
                try { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
            _process.Dispose();
            _process = null;
        }
        if (CertificatePath is not null) try { File.Delete(CertificatePath); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}
