using System.Diagnostics;
using System.Text;

namespace RemoteSessions.TestPeers;

/// <summary>
/// The WS-Management (WinRS) test endpoint (tests/wsman-endpoint, built into build/wsman-endpoint), which
/// runs PowerShell's own WSMan plugin inside pwsh behind Basic authentication, on free 127.0.0.1 ports.
/// Stopped on dispose (stdin closed, killed after a bounded wait).
/// </summary>
/// <param name="pwsh">The PowerShell that hosts it; null: RSESS_PWSH, else build/tools/pwsh/pwsh in the
/// repository (tests/setup.sh), else <c>pwsh</c> on PATH.</param>
public class WsmanEndpoint(string? pwsh = null) : IDisposable
{
    private Process? _process;
    private readonly StringBuilder _stderr = new();

    /// <summary>Starts the endpoint for <paramref name="user"/>/<paramref name="password"/> (and any further
    /// flags of the README's table, e.g. <c>--min-idle-ms</c>); call once.</summary>
    public WsmanEndpoint Start(string user = "ann", string password = "Winrs-Pa55", params string[] extra)
    {
        User = user;
        Password = password;
        string repo = FindRepo();
        string installed = Path.Combine(repo, "build", "tools", "pwsh", "pwsh");
        string exe = pwsh ?? Env("RSESS_PWSH") ?? (File.Exists(installed) ? installed : "pwsh");
        string script = Path.Combine(repo, "build", "wsman-endpoint", "Start-Endpoint.ps1");
        if (!File.Exists(script))
            throw new InvalidOperationException($"{script} is missing: run tests/build.sh");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-NoProfile", "-NonInteractive", "-File", script, "--user", user, "--password", password }.Concat(extra))
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is not { } ready || !ready.StartsWith("listening "))
            throw new InvalidOperationException($"the WS-Man endpoint did not report its ports; stderr: {Stderr}");
        // "listening http=P https=P"
        foreach (string part in ready["listening ".Length..].Split(' '))
        {
            string[] kv = part.Split('=', 2);
            if (kv[0] == "http") HttpPort = int.Parse(kv[1]);
            if (kv[0] == "https") HttpsPort = int.Parse(kv[1]);
        }
        return this;
    }

    /// <summary>The HTTP port.</summary>
    public int HttpPort { get; private set; }
    /// <summary>The HTTPS port (a self-signed certificate for localhost and 127.0.0.1).</summary>
    public int HttpsPort { get; private set; }
    /// <summary>The Basic user name the endpoint accepts (the shells' Owner).</summary>
    public string User { get; private set; } = "";
    /// <summary>The Basic password the endpoint accepts.</summary>
    public string Password { get; private set; } = "";
    /// <summary>What the endpoint wrote to stderr so far: one line per operation, fault and shell event.</summary>
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cargo.toml"))) return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root (Cargo.toml) above " + AppContext.BaseDirectory);
    }

    /// <summary>Closes the endpoint's stdin (it exits on EOF), waits up to 10 s, then kills it.</summary>
    public void Dispose()
    {
        if (_process is not null)
        {
            try { _process.StandardInput.Close(); } catch (IOException) { }
            if (!_process.WaitForExit(10000))
                try { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
            _process.Dispose();
            _process = null;
        }
        GC.SuppressFinalize(this);
    }
}
