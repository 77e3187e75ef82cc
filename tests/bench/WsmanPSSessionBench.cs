using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteSessions.TestPeers;
using static RemoteSessions.Bench.Measure;

namespace RemoteSessions.Bench;

/// <summary>
/// WS-Management PSSessions (the module's <c>New-PSSession -ComputerName</c>) against the WinRS test endpoint
/// (tests/wsman-endpoint: PowerShell's own WSMan plugin in one pwsh, each shell a runspace in it) on loopback,
/// Basic over HTTP with <c>New-PSSessionOption -NoEncryption</c>; the SSH baseline is the module's
/// <c>New-PSSession -HostName</c> to sshd (SshServer) whose subsystem is the same pwsh. In one run:
/// (1) Invoke-Command -Session latency, WS-Man vs SSH; (2) New-PSSession (+ Remove-PSSession) time, WS-Man
/// vs SSH; (3) ad hoc (a session per command) vs commands on one session, over WS-Man; (4) fan-out of one
/// command to <see cref="FanOut"/> sessions, Invoke-Command -Session $all -ThrottleLimit 32 vs one
/// Invoke-Command per session in turn. Each figure also prints the CPU time the endpoint process (and, for
/// the SSH side, sshd with its session processes) used over it, from /proc, beside the wall time, which says
/// what bounds it on this machine. Loops are timed inside the runspace, so only the commands are counted.
/// </summary>
public static class WsmanPSSessionBench
{
    private const string User = "bench";
    private const string Password = "Pa55w.rd";
    private const int Commands = 200;
    private const int CommandRounds = 3;
    private const int Opens = 20;
    private const int AdHoc = 100;
    /// <summary>
    /// Sessions in the fan-out, as many as the issue's 100 endpoints; each is a runspace in the endpoint's
    /// one pwsh (the line printed with the figure gives the endpoint's resident memory per session).
    /// </summary>
    private const int FanOut = 100;
    private const int FanOutRounds = 7;

    /// <summary>Runs the figures; <paramref name="pwsh"/> runs the endpoint and is sshd's powershell subsystem.</summary>
    public static void Run(string manifest, string pwsh)
    {
        string script = FindEndpointScript(manifest);
        using var endpoint = Endpoint.Start(pwsh, script);
        Console.WriteLine($"WS-Man PSSessions: New-PSSession -ComputerName 127.0.0.1 -Port {endpoint.HttpPort} -Authentication Basic " +
            $"-SessionOption (New-PSSessionOption -NoEncryption) to the WinRS test endpoint (PowerShell's WSMan plugin in {pwsh}, pid {endpoint.Pid}); " +
            "SSH baseline: this module's New-PSSession -HostName to sshd with the same pwsh as subsystem; " +
            $"load average {File.ReadAllText("/proc/loadavg").Trim()}");
        using SshServer sshd = new SshServer(pwsh).Start();
        int sshdPid = int.Parse(File.ReadAllText(Path.Combine(sshd.Directory, "sshd.pid")).Trim());

        using Runspace rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        rs.Open();
        Invoke(rs, $$"""
            Import-Module '{{manifest}}'
            $cred = [pscredential]::new('{{User}}', [Net.NetworkCredential]::new('', '{{Password}}').SecurePassword)
            $wsman = @{ ComputerName = '127.0.0.1'; Port = {{endpoint.HttpPort}}; Credential = $cred; Authentication = 'Basic'; SessionOption = (New-PSSessionOption -NoEncryption) }
            $ssh = @{ HostName = 'localhost'; Port = {{sshd.Port}}; KeyFilePath = '{{sshd.KeyFile}}'; Options = {{SshServer.Options}} }
            $w = New-PSSession @wsman -ErrorAction Stop
            $h = New-PSSession @ssh -ErrorAction Stop
            """);

        // 1. Latency of small commands on one open session.
        var wsmanCalls = new List<double>();
        var sshCalls = new List<double>();
        var cpu = Cpu.Start(endpoint.Pid, sshdPid);
        (double wsmanPer, double sshPer) = MedianPair(CommandRounds,
            () => PerCommand(rs, "$w", wsmanCalls), () => PerCommand(rs, "$h", sshCalls), warmUp: 1);
        Report($"Invoke-Command -Session {{ 1 }} over WS-Man, per command (median of {CommandRounds} rounds of {Commands})", wsmanPer,
            "the same over SSH to the same pwsh", sshPer);
        Console.WriteLine($"  per call, WS-Man: {Spread(wsmanCalls)}; SSH: {Spread(sshCalls)}");
        Console.WriteLine($"  {cpu.Stop()}; endpoint faults: {endpoint.FaultsSince()}");

        // 2. Opening (and removing) a session.
        var removes = (WsMan: new List<double>(), Ssh: new List<double>());
        var opens = (WsMan: new List<double>(), Ssh: new List<double>());
        cpu = Cpu.Start(endpoint.Pid, sshdPid);
        (double wsmanOpen, double sshOpen) = MedianPair(Opens,
            () => TimeOpen(rs, "@wsman", opens.WsMan, removes.WsMan), () => TimeOpen(rs, "@ssh", opens.Ssh, removes.Ssh), warmUp: 2);
        Report($"New-PSSession over WS-Man (median of {Opens})", wsmanOpen, "New-PSSession -HostName over SSH", sshOpen);
        Console.WriteLine($"  per open (warm-up included), WS-Man: {Spread(opens.WsMan)}; SSH: {Spread(opens.Ssh)}");
        Console.WriteLine($"  Remove-PSSession medians: WS-Man {Median(removes.WsMan):F1} ms, SSH {Median(removes.Ssh):F1} ms " +
            "(an SSH session starts a pwsh process of its own; a WS-Man one is a runspace in the endpoint's pwsh)");
        Console.WriteLine($"  {cpu.Stop()} (an SSH session's pwsh is charged to sshd only when reaped through it); endpoint faults: {endpoint.FaultsSince()}");
        // What an SSH open is made of: sshd running a trivial command through the user's login shell (which
        // also starts the subsystem: `$SHELL -c pwsh -sshs`), and the pwsh alone.
        double sshTrue = Measure.Median(5, () => TimeProcess("ssh", ["-i", sshd.KeyFile, "-p", sshd.Port.ToString(), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "localhost", "true"]));
        double pwshStart = Measure.Median(3, () => TimeProcess(pwsh, ["-s", "-NoLogo", "-NoProfile"]));
        Console.WriteLine($"  of an SSH open: `ssh localhost true` to the same sshd {sshTrue:F0} ms (the login shell included), " +
            $"{pwsh} -s alone with stdin closed {pwshStart:F0} ms (medians of 5 and 3)");

        // 3. Ad hoc sessions vs one session. The module has no Invoke-Command of its own; the built-in
        //    Invoke-Command -ComputerName needs PowerShell's native WSMan client, absent on Linux: probe it.
        string adHocNote;
        string probe = Invoke(rs, """
            try { $null = Invoke-Command @wsman { 1 } -ErrorAction Stop; 'works' } catch { $_.Exception.Message }
            """, check: false)[0].ToString();
        bool builtinAdHoc = probe == "works";
        string adHoc = builtinAdHoc
            ? "$null = Invoke-Command @wsman { 1 }"
            : "$t = New-PSSession @wsman; $null = Invoke-Command -Session $t { 1 }; Remove-PSSession $t";
        adHocNote = builtinAdHoc
            ? "Invoke-Command -ComputerName"
            : $"New-PSSession + Invoke-Command -Session + Remove-PSSession, as Invoke-Command -ComputerName fails here (\"{probe}\")";
        cpu = Cpu.Start(endpoint.Pid, sshdPid);
        var adHocCalls = new List<double>();
        double adHocPer = TimeLoop(rs, adHoc, AdHoc, adHocCalls);
        var oneCalls = new List<double>();
        double onePer = TimeLoop(rs, "$null = Invoke-Command -Session $w { 1 }", AdHoc, oneCalls);
        Report($"{AdHoc} ad hoc commands over WS-Man, per command (one run)", adHocPer, $"{AdHoc} commands on one WS-Man session", onePer);
        Console.WriteLine($"  ad hoc = {adHocNote}; per call, ad hoc: {Spread(adHocCalls)}; on one session: {Spread(oneCalls)}");
        Console.WriteLine($"  {cpu.Stop()}; endpoint faults: {endpoint.FaultsSince()}");

        // 4. Fan-out to many sessions of the one endpoint.
        long rssBefore = endpoint.ResidentKiB();
        var open = Stopwatch.StartNew();
        Invoke(rs, $"$all = 1..{FanOut} | ForEach-Object {{ New-PSSession @wsman -ErrorAction Stop }}");
        double openAll = open.Elapsed.TotalMilliseconds;
        long rssPerSession = (endpoint.ResidentKiB() - rssBefore) / FanOut;
        cpu = Cpu.Start(endpoint.Pid, sshdPid);
        (double parallel, double sequential) = MedianPair(FanOutRounds,
            () => TimeScript(rs, "$null = Invoke-Command -Session $all -ThrottleLimit 32 { 1 }"),
            () => TimeScript(rs, "foreach ($x in $all) { $null = Invoke-Command -Session $x { 1 } }"), warmUp: 2);
        Report($"one command to {FanOut} WS-Man sessions, Invoke-Command -Session $all -ThrottleLimit 32 (median of {FanOutRounds})", parallel,
            "one Invoke-Command -Session per session in turn", sequential);
        Console.WriteLine($"  {cpu.Stop()}; endpoint faults: {endpoint.FaultsSince()}");
        Console.WriteLine($"  opening the {FanOut} sessions took {openAll:F0} ms; the endpoint's resident memory grew {rssPerSession} KiB per session " +
            $"(now {endpoint.ResidentKiB() / 1024} MiB); {Environment.ProcessorCount} CPUs");
        Invoke(rs, "Get-PSSession | Remove-PSSession");
        Console.WriteLine($"  endpoint log: {endpoint.Summary()}; load average now {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary>Milliseconds per command of <see cref="Commands"/> Invoke-Command on <paramref name="session"/>; each call kept in <paramref name="calls"/>.</summary>
    private static double PerCommand(Runspace rs, string session, List<double> calls) =>
        TimeLoop(rs, $"if ((Invoke-Command -Session {session} {{ 1 }}) -ne 1) {{ throw 'unexpected output' }}", Commands, calls);

    /// <summary>Runs <paramref name="body"/> <paramref name="n"/> times in one script, each timed; returns the mean.</summary>
    private static double TimeLoop(Runspace rs, string body, int n, List<double> calls)
    {
        var result = Invoke(rs, $$"""
            $sw = [Diagnostics.Stopwatch]::new()
            for ($i = 0; $i -lt {{n}}; $i++) { $sw.Restart(); {{body}}; $sw.Elapsed.TotalMilliseconds }
            """);
        double[] ms = result.Select(o => Convert.ToDouble(o.BaseObject)).ToArray();
        calls.AddRange(ms);
        return ms.Sum() / n;
    }

    private static double TimeOpen(Runspace rs, string splat, List<double> opens, List<double> removes)
    {
        var result = Invoke(rs, $$"""
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $t = New-PSSession {{splat}} -ErrorAction Stop
            $sw.Elapsed.TotalMilliseconds
            $sw.Restart()
            Remove-PSSession $t
            $sw.Elapsed.TotalMilliseconds
            """);
        removes.Add(Convert.ToDouble(result[1].BaseObject));
        opens.Add(Convert.ToDouble(result[0].BaseObject));
        return opens[^1];
    }

    /// <summary>Milliseconds from starting <paramref name="file"/> to its end (its stdin closed at once).</summary>
    private static double TimeProcess(string file, string[] args)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        var sw = Stopwatch.StartNew();
        using Process p = Process.Start(info)!;
        p.StandardInput.Close();
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double TimeScript(Runspace rs, string script) =>
        Convert.ToDouble(Invoke(rs, $$"""
            $sw = [Diagnostics.Stopwatch]::StartNew()
            {{script}}
            $sw.Elapsed.TotalMilliseconds
            """)[0].BaseObject);

    private static double Median(List<double> samples)
    {
        var s = samples.Order().ToArray();
        return s.Length == 0 ? double.NaN : s[s.Length / 2];
    }

    /// <summary>Median, 99th percentile and maximum of the calls, and how many took over 5x the median (stalls).</summary>
    private static string Spread(List<double> calls)
    {
        var s = calls.Order().ToArray();
        double median = s[s.Length / 2];
        return $"median {median:F1} ms, p99 {s[(int)(s.Length * 0.99)]:F1} ms, max {s[^1]:F1} ms, " +
            $"{s.Count(x => x > 5 * median)} of {s.Length} over 5x the median";
    }

    /// <summary>Runs <paramref name="script"/>; unless <paramref name="check"/> is false, throws when it had errors (a caught one counts too).</summary>
    private static System.Collections.ObjectModel.Collection<PSObject> Invoke(Runspace rs, string script, bool check = true)
    {
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = rs;
        var result = ps.AddScript(script).Invoke();
        if (check && ps.HadErrors) throw new InvalidOperationException("script failed: " + string.Join("; ", ps.Streams.Error));
        return result;
    }

    /// <summary>tests/wsman-endpoint/Start-Endpoint.ps1, found above the manifest (build/module/RemoteSessions/...).</summary>
    private static string FindEndpointScript(string manifest)
    {
        for (string? dir = Path.GetDirectoryName(manifest); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "tests", "wsman-endpoint", "Start-Endpoint.ps1");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tests/wsman-endpoint/Start-Endpoint.ps1 not found above " + manifest);
    }

    /// <summary>The endpoint process: started with stdin open, stopped by closing it; its stderr events counted.</summary>
    private sealed class Endpoint : IDisposable
    {
        private readonly Process _process;
        private int _lines, _errors, _deletes;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _faults = new();

        private Endpoint(Process process) => _process = process;

        public int HttpPort { get; private set; }
        public int Pid => _process.Id;

        public static Endpoint Start(string pwsh, string script)
        {
            var info = new ProcessStartInfo(pwsh, ["-NoProfile", "-NonInteractive", "-File", script, "--user", User, "--password", Password])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            var e = new Endpoint(Process.Start(info)!);
            e._process.ErrorDataReceived += (_, a) =>
            {
                if (a.Data is null) return;
                Interlocked.Increment(ref e._lines);
                if (a.Data.Contains(": Delete shell", StringComparison.Ordinal)) Interlocked.Increment(ref e._deletes);
                int fault = a.Data.IndexOf("-> FAULT ", StringComparison.Ordinal);
                if (fault >= 0)
                {
                    // "connection N: Receive shell ID -> FAULT w:Code 0x... text": keep the operation and the code.
                    string[] words = a.Data.Split(' ');
                    int op = Array.IndexOf(words, "shell") - 1;
                    string kind = (op >= 0 ? words[op] + " " : "") + string.Join(' ', a.Data[(fault + 9)..].Split(' ').Take(2));
                    e._faults.AddOrUpdate(kind, 1, (_, n) => n + 1);
                }
                else if (a.Data.Contains("error", StringComparison.OrdinalIgnoreCase)) Interlocked.Increment(ref e._errors);
            };
            e._process.BeginErrorReadLine();
            string? line = e._process.StandardOutput.ReadLine();
            if (line is null || !line.StartsWith("listening http=", StringComparison.Ordinal))
                throw new InvalidOperationException($"the endpoint did not start: {line}");
            e.HttpPort = int.Parse(line.Split(' ')[1]["http=".Length..]);
            return e;
        }

        public long ResidentKiB() =>
            long.Parse(File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

        /// <summary>The faults logged since the last call, by operation and code.</summary>
        public string FaultsSince()
        {
            var now = _faults.ToDictionary(f => f.Key, f => f.Value);
            var diff = now.Select(f => (f.Key, N: f.Value - _seen.GetValueOrDefault(f.Key))).Where(f => f.N > 0).ToList();
            _seen = now;
            return diff.Count == 0 ? "none" : string.Join(", ", diff.Select(f => $"{f.N} × {f.Key}"));
        }

        private Dictionary<string, int> _seen = new();

        public string Summary() =>
            $"{_lines} lines, {_deletes} Delete shell requests, faults: " +
            (_faults.IsEmpty ? "none" : string.Join(", ", _faults.OrderByDescending(f => f.Value).Select(f => $"{f.Value} × {f.Key}"))) +
            $"; {_errors} other lines with 'error'";

        public void Dispose()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000)) _process.Kill();
            _process.Dispose();
        }
    }

    /// <summary>CPU time over a figure: the endpoint's, sshd's tree (reaped children included), this process's; beside the wall time.</summary>
    private sealed class Cpu
    {
        private int _endpoint, _sshd;
        private double _e0, _s0;
        private TimeSpan _self0;
        private Stopwatch _wall = new();

        public static Cpu Start(int endpoint, int sshd) => new Cpu
        {
            _endpoint = endpoint, _sshd = sshd, _e0 = TreeMs(endpoint), _s0 = TreeMs(sshd),
            _self0 = Process.GetCurrentProcess().TotalProcessorTime, _wall = Stopwatch.StartNew(),
        };

        public string Stop()
        {
            double wall = _wall.Elapsed.TotalMilliseconds;
            double e = TreeMs(_endpoint) - _e0, s = TreeMs(_sshd) - _s0;
            double self = (Process.GetCurrentProcess().TotalProcessorTime - _self0).TotalMilliseconds;
            return $"CPU over {wall:F0} ms wall: endpoint {e:F0} ms ({e / wall:P0}), sshd and its sessions {s:F0} ms ({s / wall:P0}), " +
                $"this process (the client) {self:F0} ms ({self / wall:P0}); {Environment.ProcessorCount} CPUs = {Environment.ProcessorCount * 100}%";
        }

        /// <summary>User + system time of <paramref name="root"/>, its reaped children and its live descendants, in ms (100 Hz ticks).</summary>
        private static double TreeMs(int root)
        {
            var parent = new Dictionary<int, int>();
            var ticks = new Dictionary<int, long>();
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
                try
                {
                    string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    parent[pid] = int.Parse(f[1]);
                    ticks[pid] = long.Parse(f[11]) + long.Parse(f[12]) + long.Parse(f[13]) + long.Parse(f[14]);
                }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
            long total = 0;
            foreach (int pid in ticks.Keys)
            {
                for (int p = pid, depth = 0; p > 1 && depth < 64; depth++)
                {
                    if (p == root) { total += ticks[pid]; break; }
                    if (!parent.TryGetValue(p, out p)) break;
                }
            }
            return total * 10.0;
        }
    }
}
