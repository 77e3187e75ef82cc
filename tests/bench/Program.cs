using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

// Benchmark, each figure as a ratio to a baseline measured in the same run:
//  1. Import-Module RemoteSessions vs Import-Module of a trivial module (both in fresh runspaces);
//  2. Get-CimInstance Win32_Process on a local session vs reading the same /proc files in-process;
//  3. over one sshd on loopback: Invoke-Command -Session latency and New-PSSession time, this module's
//     SSH transport vs PowerShell's built-in `New-PSSession -HostName`;
//  4. WS-Management against the replay server (WsmanBench.cs): ad hoc vs session Get-CimInstance, a warm
//     Enumerate vs a raw socket, 10 000 instances end to end, 200 sessions at once, memory per session;
//  5. Negotiate (NegotiateBench.cs): a warm Enumerate sealed with NTLM and Kerberos vs Basic, and the first
//     request of a new connection vs a warm one;
//  6. process sessions in a long loop (PSSessionSoak.cs): New-PSSession/Remove-PSSession rounds, their time
//     vs the server's own start and CPU time, and what this process kept per round (memory, descriptors,
//     server processes still running);
//  7. the library's own PSRP client from C# (PsrpBench.cs): 200 small commands on one session and the MB/s
//     of a 50 MB output, vs PowerShell's client (Invoke-Command -Session) on the same server and transport,
//     and vs reading the same lines raw from the transport;
//  8. WS-Management PSSessions (WsmanPSSessionBench.cs) against the WinRS test endpoint (PowerShell's own WSMan
//     plugin): Invoke-Command -Session latency and New-PSSession time vs SSH to the same pwsh, ad hoc sessions
//     vs one session, fan-out of one command to 20 sessions with -ThrottleLimit 32 vs one session at a time.
// The MB/s of the WS-Man reply parser is a cargo bench (tests/bench/wsman_parse.rs), run by tests/bench.sh.
// Medians of several rounds; nothing here asserts, it only reports.
using RemoteSessions.TestPeers;
using RemoteSessions.Bench;
using static RemoteSessions.Bench.Measure;

int soakRounds = PSSessionSoak.DefaultRounds;
bool usage = args.Length is not (2 or 3 or 4)
    || (args.Length >= 3 && args[2] is not ("wsman" or "wsman-warm" or "negotiate" or "pssession" or "psrp" or "wsman-pssession"))
    || (args.Length == 4 && (args[2] != "pssession" || !int.TryParse(args[3], out soakRounds) || soakRounds < 1));
if (usage)
{
    Console.Error.WriteLine("usage: rsess-bench <path to RemoteSessions.psd1> <PSRP server for sshd's powershell subsystem> [wsman | wsman-warm | negotiate | pssession [rounds] | psrp | wsman-pssession]");
    Console.Error.WriteLine("       (with 'wsman' only the WS-Management figures; 'wsman-warm' only the warm Enumerate vs the raw socket, for profiling;");
    Console.Error.WriteLine("       'negotiate' only the cost of Negotiate: sealed NTLM/Kerberos vs Basic, a new connection vs a warm one;");
    Console.Error.WriteLine($"       'pssession' only the process-session soak, {PSSessionSoak.DefaultRounds} rounds unless told, against the PSRP server given;");
    Console.Error.WriteLine("       'psrp' only the library's PSRP client vs PowerShell's on that server: 200 small commands, a 50 MB output;");
    Console.Error.WriteLine("       'wsman-pssession' only WS-Man PSSessions to the WinRS test endpoint run by that pwsh, vs SSH: latency, New-PSSession, ad hoc, fan-out)");
    return 2;
}
string manifest = Path.GetFullPath(args[0]);
string psrpServer = Path.GetFullPath(args[1]);
if (args.Length >= 3)
{
    if (args[2] == "wsman") WsmanBench.Run(manifest);
    else if (args[2] == "negotiate") NegotiateBench.Run();
    else if (args[2] == "pssession") PSSessionSoak.Run(manifest, psrpServer, soakRounds);
    else if (args[2] == "psrp") PsrpBench.Run(manifest, psrpServer);
    else if (args[2] == "wsman-pssession") WsmanPSSessionBench.Run(manifest, psrpServer);
    else WsmanBench.RunWarm();
    return 0;
}
const int Rounds = 15;

string trivialDir = Directory.CreateTempSubdirectory("rsess-bench-").FullName;
File.WriteAllText(Path.Combine(trivialDir, "Trivial.psm1"), "function Get-Trivial { 1 }");
File.WriteAllText(Path.Combine(trivialDir, "Trivial.psd1"), "@{ RootModule = 'Trivial.psm1'; ModuleVersion = '1.0'; FunctionsToExport = @('Get-Trivial') }");

double importModule = Median(Rounds, () => TimeImport(manifest));
double importTrivial = Median(Rounds, () => TimeImport(Path.Combine(trivialDir, "Trivial.psd1")));
Report("Import-Module RemoteSessions", importModule, "Import-Module of a one-function module", importTrivial);

using (Runspace rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2()))
{
    rs.Open();
    Invoke(rs, $"Import-Module '{manifest}'; $s = New-CimSession");
    int count = 0;
    double cim = Median(Rounds, () =>
    {
        var sw = Stopwatch.StartNew();
        count = Invoke(rs, "Get-CimInstance -CimSession $s -ClassName Win32_Process").Count;
        return sw.Elapsed.TotalMilliseconds;
    });
    int raw = 0;
    double baseline = Median(Rounds, () =>
    {
        var sw = Stopwatch.StartNew();
        raw = ReadProcesses();
        return sw.Elapsed.TotalMilliseconds;
    });
    Report($"Get-CimInstance Win32_Process ({count} objects)", cim, $"reading /proc for {raw} processes in C#", baseline);
}
Directory.Delete(trivialDir, recursive: true);

WsmanBench.Run(manifest);
NegotiateBench.Run();

using (SshServer sshd = new SshServer(psrpServer).Start())
using (Runspace rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2()))
{
    rs.Open();
    Invoke(rs, $"Import-Module '{manifest}'");
    string target = $"-HostName localhost -Port {sshd.Port} -KeyFilePath '{sshd.KeyFile}' -Options {SshServer.Options}";
    const string Builtin = "Microsoft.PowerShell.Core\\New-PSSession";
    double newOurs = Median(5, () => TimeNewSession(rs, $"New-PSSession {target}"));
    double newBuiltin = Median(5, () => TimeNewSession(rs, $"{Builtin} {target}"));
    Report("New-PSSession -HostName (this module)", newOurs, "built-in New-PSSession -HostName", newBuiltin);

    Invoke(rs, $"$ours = New-PSSession {target}; $builtin = {Builtin} {target}");
    double callOurs = Median(50, () => TimeScript(rs, "Invoke-Command -Session $ours { 1 }"));
    double callBuiltin = Median(50, () => TimeScript(rs, "Invoke-Command -Session $builtin { 1 }"));
    Report("Invoke-Command -Session (this module's SSH transport)", callOurs, "built-in SSH transport", callBuiltin);
    Invoke(rs, "Get-PSSession | Remove-PSSession");
}

PsrpBench.Run(manifest, psrpServer);
// The WS-Man endpoint runs inside a pwsh; without one (the PSRP server fallback of tests/bench.sh) there is none.
if (Path.GetFileName(psrpServer) == "pwsh") WsmanPSSessionBench.Run(manifest, psrpServer);
else Console.WriteLine($"WS-Man PSSessions: skipped, {psrpServer} is not a pwsh to run the WinRS test endpoint in");
PSSessionSoak.Run(manifest, psrpServer, soakRounds);
return 0;

static double TimeScript(Runspace rs, string script)
{
    var sw = Stopwatch.StartNew();
    Invoke(rs, script);
    return sw.Elapsed.TotalMilliseconds;
}

static double TimeNewSession(Runspace rs, string newSession)
{
    var sw = Stopwatch.StartNew();
    Invoke(rs, $"$t = {newSession}");
    double ms = sw.Elapsed.TotalMilliseconds;
    Invoke(rs, "$t | Remove-PSSession");
    return ms;
}

static double TimeImport(string path)
{
    using Runspace rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
    rs.Open();
    var sw = Stopwatch.StartNew();
    Invoke(rs, $"Import-Module '{path}' -ErrorAction Stop");
    return sw.Elapsed.TotalMilliseconds;
}

static System.Collections.ObjectModel.Collection<PSObject> Invoke(Runspace rs, string script)
{
    using PowerShell ps = PowerShell.Create();
    ps.Runspace = rs;
    return ps.AddScript(script).Invoke();
}

// The same files the provider reads per process: stat, status, cmdline, the exe link and the fd count.
static int ReadProcesses()
{
    int n = 0;
    foreach (string dir in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
        try
        {
            _ = File.ReadAllText(Path.Combine(dir, "stat"));
            _ = File.ReadAllText(Path.Combine(dir, "status"));
            _ = File.ReadAllBytes(Path.Combine(dir, "cmdline"));
            try { _ = new FileInfo(Path.Combine(dir, "exe")).LinkTarget; } catch (IOException) { } catch (UnauthorizedAccessException) { }
            try { _ = Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")).Count(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            n++;
        }
        catch (IOException) { }
    }
    return n;
}

