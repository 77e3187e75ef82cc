using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteSessions.TestHost;

namespace RemoteSessions.Tests;

/// <summary>
/// One fresh runspace of the real PowerShell engine with the built module imported, as a user's session.
/// Formatted output (Out-Default) is captured through a text host. After Enter-PSSession, commands run
/// in the entered session until Exit-PSSession, as at a console.
/// </summary>
public sealed class PowerShellRunner : IDisposable
{
    private readonly StringWriter _hostOutput = new();
    private readonly TextHost _host;
    private readonly Runspace _runspace;

    public PowerShellRunner(bool importModule = true)
    {
        _host = new TextHost(_hostOutput, 160);
        _runspace = _host.OpenRunspace();
        if (importModule) Run($"Import-Module '{Paths.ModuleManifest}' -ErrorAction Stop");
    }

    /// <summary>Errors of the last <see cref="Run"/>.</summary>
    public IReadOnlyList<ErrorRecord> Errors { get; private set; } = [];

    /// <summary>Warnings of the last <see cref="Run"/>.</summary>
    public IReadOnlyList<WarningRecord> Warnings { get; private set; } = [];

    /// <summary>Verbose records of the last <see cref="Run"/>.</summary>
    public IReadOnlyList<VerboseRecord> Verbose { get; private set; } = [];

    /// <summary>The session Enter-PSSession entered, or null when commands run in this runspace.</summary>
    public Runspace? Entered => _host.IsRunspacePushed ? _host.Runspace : null;

    /// <summary>Runs <paramref name="script"/> (in the entered session, if any) and returns its output;
    /// terminating errors throw.</summary>
    public Collection<PSObject> Run(string script)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _host.Runspace!;
        ps.AddScript(script);
        Collection<PSObject> output = ps.Invoke();
        Errors = ps.Streams.Error.ToArray();
        Warnings = ps.Streams.Warning.ToArray();
        Verbose = ps.Streams.Verbose.ToArray();
        return output;
    }

    /// <summary>
    /// Starts <paramref name="script"/> and stops it as Ctrl+C does once <paramref name="stopWhen"/> is true
    /// (checked every 20 ms for up to a minute); returns how the invocation ended. Errors and warnings are
    /// kept as for <see cref="Run"/>.
    /// </summary>
    public PSInvocationState RunAndStop(string script, Func<bool> stopWhen)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _host.Runspace!;
        ps.AddScript(script);
        IAsyncResult running = ps.BeginInvoke();
        for (int i = 0; i < 3000 && !running.IsCompleted && !stopWhen(); i++) Thread.Sleep(20);
        ps.Stop();
        Errors = ps.Streams.Error.ToArray();
        Warnings = ps.Streams.Warning.ToArray();
        Verbose = ps.Streams.Verbose.ToArray();
        return ps.InvocationStateInfo.State;
    }

    /// <summary>Runs <paramref name="script"/> through Out-Default and returns the text a console shows.</summary>
    public string Format(string script)
    {
        _hostOutput.GetStringBuilder().Clear();
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script).AddCommand("Out-Default");
        ps.Invoke();
        return _hostOutput.ToString();
    }

    public void Dispose() => _runspace.Dispose();
}

/// <summary>Where the built artefacts are: RSESS_MODULE_PATH overrides the module manifest path.</summary>
public static class Paths
{
    public static string Repo { get; } = FindRepo();

    public static string ModuleManifest =>
        Environment.GetEnvironmentVariable("RSESS_MODULE_PATH") is { Length: > 0 } p
            ? p
            : Path.Combine(Repo, "build", "module", "RemoteSessions", "RemoteSessions.psd1");

    /// <summary>The small host of the engine (tests/host), which runs a script file given as its argument.</summary>
    public static string TestHost => Path.Combine(Repo, "build", "host", "rsess-host");

    /// <summary>
    /// The PSRP server for process and SSH sessions: a real `pwsh` when on PATH, else the engine's own
    /// server built from NuGet (tests/psrp-server). RSESS_PSRP_SERVER overrides.
    /// </summary>
    public static string PsrpServer =>
        Environment.GetEnvironmentVariable("RSESS_PSRP_SERVER") is { Length: > 0 } s ? s
        : FindOnPath("pwsh") ?? Path.Combine(Repo, "build", "psrp-server", "rsess-psrp-server");

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cargo.toml"))) return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root (Cargo.toml) above " + AppContext.BaseDirectory);
    }
}

/// <summary>What the machine itself says, to compare the provider's values with.</summary>
public static class Machine
{
    public static string Run(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output.Trim();
    }

    /// <summary>A field of /proc/meminfo, in KiB.</summary>
    public static ulong MemInfoKb(string field) =>
        ulong.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith(field + ":"))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    /// <summary>Fields of /proc/self/stat after the command name: [0] = state, [1] = ppid, …</summary>
    public static string[] SelfStatAfterComm()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }
}
