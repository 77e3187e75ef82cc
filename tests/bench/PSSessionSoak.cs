using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace RemoteSessions.Bench;

/// <summary>
/// Process sessions in a long loop (the soak that was an xunit test and took most of its run): after a
/// warm-up, <c>New-PSSession -PowerShellPath</c> and <c>Remove-PSSession</c> round after round in one
/// runspace, then what this process kept: managed memory and descriptors per round, resident memory, and
/// the server processes still running. The time of a round is set beside what the server process itself
/// costs, measured in the same run: its start alone (stdin closed at once, so it ends as soon as its
/// runtime is up), and the CPU time it used per session (user + system of the reaped children). Nothing
/// here asserts; the leak test is <c>Sessions_created_and_removed_in_a_loop_leave_no_processes_descriptors_or_memory</c>.
/// </summary>
public static class PSSessionSoak
{
    /// <summary>The default number of measured rounds, after <see cref="WarmUp"/> rounds.</summary>
    public const int DefaultRounds = 1000;

    private const int WarmUp = 20;

    /// <summary>Rounds between the lines that show the growth so far.</summary>
    private const int Checkpoint = 250;

    /// <summary>Runs the figure: <paramref name="rounds"/> rounds against the PSRP server <paramref name="server"/>.</summary>
    public static void Run(string manifest, string server, int rounds)
    {
        Console.WriteLine($"PSSession soak: New-PSSession -PowerShellPath {server}, then Remove-PSSession; {WarmUp} rounds of warm-up, {rounds} measured");
        using Runspace rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        rs.Open();
        Invoke(rs, $"Import-Module '{manifest}'; $server = '{server.Replace("'", "''")}'");
        const string Open = "$p = New-PSSession -PowerShellPath $server";
        const string Close = "$p | Remove-PSSession; $p = $null";
        for (int i = 0; i < WarmUp; i++)
        {
            Invoke(rs, Open);
            Invoke(rs, Close);
        }
        WaitForChildren();

        int fds = Descriptors();
        long managed = Settled();
        long rss = StatusKiB("VmRSS:");
        double childCpu = ChildCpuMs();
        int failed = 0;
        var open = new double[rounds];
        var close = new double[rounds];
        var total = Stopwatch.StartNew();
        for (int i = 0; i < rounds; i++)
        {
            var sw = Stopwatch.StartNew();
            if (!Succeeded(rs, Open)) failed++;
            open[i] = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            if (!Succeeded(rs, Close)) failed++;
            close[i] = sw.Elapsed.TotalMilliseconds;
            // Where the growth stands along the way: a leak grows with the rounds, a cache levels off.
            if ((i + 1) % Checkpoint == 0 && i + 1 < rounds)
                Console.WriteLine($"  after {i + 1} rounds: managed {(Settled() - managed) / 1024.0:+0;-0} KiB, resident {StatusKiB("VmRSS:") - rss:+0;-0} KiB, descriptors {Descriptors() - fds:+0;-0;0}");
        }
        double perRound = total.Elapsed.TotalMilliseconds / rounds;
        int left = WaitForChildren();
        double serverCpu = (ChildCpuMs() - childCpu) / rounds;
        long managedGrowth = Settled() - managed;
        long rssGrowth = StatusKiB("VmRSS:") - rss;
        int fdGrowth = Descriptors() - fds;
        Array.Sort(open);
        Array.Sort(close);

        double start = Measure.Median(5, () => BareStart(server));
        Console.WriteLine($"  round (New + Remove): {perRound:F0} ms on average; New-PSSession median {open[rounds / 2]:F0} ms, Remove-PSSession median {close[rounds / 2]:F0} ms; {failed} calls with errors");
        Measure.Report("  New-PSSession -PowerShellPath (median)", open[rounds / 2], "the server's start alone with stdin closed at once, median of 5", start);
        Measure.Report("  one round", perRound, "the server process's own CPU time per session (user + system)", serverCpu);
        Console.WriteLine($"  managed memory after full collections: {managedGrowth / 1024.0:F0} KiB more after {rounds} rounds, {(double)managedGrowth / rounds:F0} bytes per round");
        Console.WriteLine($"  resident memory: {rssGrowth} KiB more, {rssGrowth * 1024.0 / rounds:F0} bytes per round");
        Console.WriteLine($"  file descriptors: {fdGrowth:+0;-0;0} ({(double)fdGrowth / rounds:F3} per round)");
        Console.WriteLine($"  server processes still running 5 s after the last round: {left}");
    }

    private static void Invoke(Runspace rs, string script)
    {
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = rs;
        ps.AddScript(script).Invoke();
    }

    /// <summary>Runs <paramref name="script"/>; false when it wrote an error or threw.</summary>
    private static bool Succeeded(Runspace rs, string script)
    {
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = rs;
        try
        {
            ps.AddScript(script).Invoke();
            return !ps.HadErrors;
        }
        catch (RuntimeException)
        {
            return false;
        }
    }

    /// <summary>Milliseconds from starting the server to its end, its stdin closed at once.</summary>
    private static double BareStart(string server)
    {
        var info = new ProcessStartInfo(server, ["-s", "-NoLogo", "-NoProfile"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        var sw = Stopwatch.StartNew();
        using Process p = Process.Start(info)!;
        p.StandardInput.Close();
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static int Descriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static long StatusKiB(string field) =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    /// <summary>User + system time of this process's reaped children so far (cutime, cstime), in ms.</summary>
    private static double ChildCpuMs()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command: state is field 3 of stat(5), cutime 16 and cstime 17, in clock ticks (100 Hz).
        return (long.Parse(f[13]) + long.Parse(f[14])) * 10.0;
    }

    /// <summary>Children of this process that still run, after waiting up to 5 s for them to end.</summary>
    private static int WaitForChildren()
    {
        for (int i = 0; i < 100 && Children() > 0; i++) Thread.Sleep(50);
        return Children();
    }

    private static int Children() =>
        Directory.GetDirectories("/proc").Count(d =>
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(d, "stat"));
                string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return f[1] == Environment.ProcessId.ToString() && f[0] != "Z";
            }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });
}
