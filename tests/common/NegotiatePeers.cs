using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace RemoteSessions.TestPeers;

/// <summary>
/// A loopback MIT Kerberos realm with gss-ntlmssp users (tests/kdc.sh) and the Negotiate test endpoint
/// (build/negotiate-server/rsess-negotiate) inside it, optionally a sealing front for a WS-Management
/// server (its <c>--upstream</c>). Shared by the xunit tests and the benchmark. Stopped on dispose.
/// </summary>
/// <remarks>
/// MIT krb5 and gss-ntlmssp read KRB5_CONFIG, KRB5CCNAME, NTLM_USER_FILE, ... with getenv(3), which does
/// not see <see cref="Environment.SetEnvironmentVariable(string, string)"/> on Unix: <see cref="Start"/> puts
/// the realm's variables into the process environment with setenv(3) too, so this process's own GSSAPI
/// calls (the native library's) use the realm. Values it replaced are put back on dispose.
/// </remarks>
public sealed partial class NegotiatePeers : IDisposable
{
    /// <summary>The Kerberos user and its password (<c>ann@RSESS.TEST</c>).</summary>
    public const string KerberosUser = "ann@RSESS.TEST", KerberosPassword = "Ann-Krb-Pa55";
    /// <summary>The NTLM user and its password (<c>RSESS\ann</c>).</summary>
    public const string NtlmUser = @"RSESS\ann", NtlmPassword = "Ann-Ntlm-Pa55";

    private Process? _kdc, _server;
    private readonly Dictionary<string, string?> _saved = [];
    private readonly StringBuilder _events = new();

    /// <summary>The endpoint's HTTP port (every message sealed).</summary>
    public int HttpPort { get; private set; }
    /// <summary>The endpoint's HTTPS port (channel binding, bodies in clear inside TLS).</summary>
    public int HttpsPort { get; private set; }
    /// <summary>The realm's folder (krb5.conf, keytab, user file, the ticket cache KRB5CCNAME names).</summary>
    public string RealmDirectory { get; private set; } = "";
    /// <summary>The endpoint's event lines so far (authentications, sealed requests, VIOLATION lines).</summary>
    public string Events { get { lock (_events) return _events.ToString(); } }

    /// <summary>
    /// Starts the realm and the endpoint; with <paramref name="upstream"/> (a WS-Man URL and its Basic user
    /// and password) the endpoint forwards every opened request there, and with <paramref name="allowBasic"/>
    /// also Basic requests in clear text. Call once.
    /// </summary>
    public NegotiatePeers Start((string Url, string User, string Password)? upstream = null, bool allowBasic = false)
    {
        string repo = FindRepo();
        _kdc = StartPeer("bash", [Path.Combine(repo, "tests", "kdc.sh"), "0"], null, out string kdcReady);
        if (!kdcReady.StartsWith("ready ", StringComparison.Ordinal)) throw new InvalidOperationException($"tests/kdc.sh: {kdcReady}");
        RealmDirectory = kdcReady["ready ".Length..];
        var environment = new Dictionary<string, string>();
        foreach (string line in File.ReadAllLines(Path.Combine(RealmDirectory, "env")))
        {
            string[] kv = line.Split('=', 2);
            environment[kv[0]] = kv[1];
            _saved.TryAdd(kv[0], Environment.GetEnvironmentVariable(kv[0]));
            SetEnvironment(kv[0], kv[1]);
        }
        List<string> args = upstream is { } u ? ["--upstream", u.Url, "--upstream-user", u.User, "--upstream-password", u.Password] : [];
        if (allowBasic) args.Add("--allow-basic");
        _server = StartPeer(Path.Combine(repo, "build", "negotiate-server", "rsess-negotiate"), args, environment, out string ready);
        // "listening http=P https=P"
        foreach (string part in ready.Split(' ').Skip(1))
        {
            string[] kv = part.Split('=', 2);
            if (kv[0] == "http") HttpPort = int.Parse(kv[1]);
            if (kv[0] == "https") HttpsPort = int.Parse(kv[1]);
        }
        if (HttpPort == 0) throw new InvalidOperationException($"rsess-negotiate: {ready}");
        return this;
    }

    /// <summary>Whether an event line containing <paramref name="text"/> arrives within 10 s (the endpoint's
    /// stderr is read asynchronously, so a line may come a moment after the reply it describes).</summary>
    public bool SawEvent(string text)
    {
        for (int i = 0; i < 200; i++)
        {
            if (Events.Contains(text, StringComparison.Ordinal)) return true;
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>Gets an initial Kerberos ticket for <paramref name="user"/> into the realm's ticket cache with kinit;
    /// <paramref name="lifetime"/> is kinit's <c>-l</c> (e.g. <c>10h</c>, <c>5s</c>). Returns kinit's exit code.</summary>
    public int Kinit(string user, string password, string lifetime = "10h")
    {
        var psi = new ProcessStartInfo("kinit") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "-l", lifetime, user }) psi.ArgumentList.Add(a);
        foreach (string name in _saved.Keys) psi.Environment[name] = Environment.GetEnvironmentVariable(name);
        using Process p = Process.Start(psi)!;
        p.StandardInput.WriteLine(password);
        p.StandardInput.Close();
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    private Process StartPeer(string exe, IEnumerable<string> args, Dictionary<string, string>? environment, out string firstLine)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach ((string name, string value) in environment ?? []) psi.Environment[name] = value;
        Process p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_events) _events.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        Task<string?> line = p.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is not { } text)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new InvalidOperationException($"{exe} did not start; stderr: {Events}");
        }
        firstLine = text;
        return p;
    }

    private static void SetEnvironment(string name, string? value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (value is null) unsetenv(name);
        else setenv(name, value, 1);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unsetenv(string name);

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cargo.toml"))) return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root (Cargo.toml) above " + AppContext.BaseDirectory);
    }

    private static void Stop(Process? p)
    {
        if (p is null) return;
        try { p.StandardInput.Close(); } catch (IOException) { }
        if (!p.WaitForExit(10000))
            try { p.Kill(entireProcessTree: true); p.WaitForExit(5000); } catch (InvalidOperationException) { }
        p.Dispose();
    }

    /// <summary>Stops the endpoint and the realm (which removes its folder) and restores the environment.</summary>
    public void Dispose()
    {
        Stop(_server);
        Stop(_kdc);
        _server = _kdc = null;
        foreach ((string name, string? value) in _saved) SetEnvironment(name, value);
        _saved.Clear();
    }
}
