using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteSessions.Native;
using PSSession = RemoteSessions.Native.PSSession;
using static RemoteSessions.Bench.Measure;

namespace RemoteSessions.Bench;

/// <summary>
/// The library's own PSRP client from C# (SessionScope.OpenPSSession, PSSession.Invoke, PSPipeline) against
/// PowerShell's remoting client, on the same server program over the same process transport (the module's
/// <c>New-PSSession -PowerShellPath</c>, whose PSSessions run the engine's client over that transport):
/// (1) small commands on one open session, per command, PowerShell's loop timed inside its runspace so
/// that only Invoke-Command is counted, not the start of each script; (2) the throughput of a large output
/// (50 strings of 1 MiB), against reading the very lines the server sent for it raw from the same
/// transport class (a capture replayed by <c>cat</c>: the same bytes, the same lines of about 44 KiB, the
/// same pipe and line reader), and against PowerShell's client.
/// </summary>
public static class PsrpBench
{
    private const int Commands = 200;
    private const int CommandRounds = 7;
    private const int Strings = 50;
    private const int StringLength = 1 << 20;
    private const int OutputRounds = 5;
    private const string BigOutput = "1..50 | ForEach-Object { 'x' * 1MB }";
    private static readonly string[] ServerArgs = ["-s", "-NoLogo", "-NoProfile"];

    /// <summary>Runs the PSRP client figures against the server program <paramref name="server"/>.</summary>
    public static void Run(string manifest, string server)
    {
        Console.WriteLine($"PSRP client: {server} {string.Join(' ', ServerArgs)} over the process transport; this library's client from C# " +
            "vs PowerShell's (Invoke-Command -Session on the module's New-PSSession -PowerShellPath) in this process");
        using var scope = new SessionScope();
        PsrpTransport transport = PsrpTransport.StartProcess(server, ServerArgs);
        int serverPid = transport.ProcessId;
        using PSSession ours = scope.OpenPSSession(transport);
        using Runspace rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        rs.Open();
        Invoke(rs, $"Import-Module '{manifest}'; $s = New-PSSession -PowerShellPath '{server.Replace("'", "''")}' -ErrorAction Stop");

        (double oursPerCommand, double theirsPerCommand) = MedianPair(CommandRounds,
            () => OursPerCommand(ours), () => TheirsPerCommand(rs));
        Report($"{Commands} commands on one session, this library's client (Invoke(\"1\") read to its end), per command", oursPerCommand,
            "PowerShell's client, Invoke-Command -Session $s { 1 } in a loop timed inside one runspace, per command", theirsPerCommand, "<= 1.0x");

        long payload = (long)Strings * StringLength;
        long wire = 0;
        string capture = Path.Combine(Path.GetTempPath(), $"rsess-bench-psrp-{Environment.ProcessId}.out");
        try
        {
            wire = Capture(scope, server, capture);
            (double oursOutput, double rawOutput) = MedianPair(OutputRounds, () => OursOutput(ours), () => RawOutput(capture, wire), warmUp: 1);
            (double oursAgain, double theirsOutput) = MedianPair(OutputRounds, () => OursOutput(ours), () => TheirsOutput(rs), warmUp: 1);
            string what = $"{Strings} strings of 1 MiB ({BigOutput}) through this library's client";
            ReportRate(what, payload, oursOutput,
                $"reading the {wire / 1e6:F1} MB of OutOfProc lines the server sent for it, replayed by cat, with PsrpTransport.Receive until null", rawOutput);
            ReportRate(what, payload, oursAgain, "PowerShell's client, Invoke-Command -Session timed inside one runspace", theirsOutput);
            // Where the time of one more read goes: this process (the client) vs the server producing the output.
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
            double serverCpu = CpuMs(serverPid);
            double wall = OursOutput(ours);
            Console.WriteLine($"  one more read through this library's client: {wall:F0} ms; CPU of this process (the client) " +
                $"{(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds:F0} ms, of the server {CpuMs(serverPid) - serverCpu:F0} ms");
        }
        finally
        {
            File.Delete(capture);
        }
        Invoke(rs, "$s | Remove-PSSession");
        scope.RemovePSSession(ours);
    }

    /// <summary>Milliseconds per command of <see cref="Commands"/> pipelines <c>1</c>, each read to its end.</summary>
    private static double OursPerCommand(PSSession s)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Commands; i++)
        {
            using PSPipeline p = s.Invoke("1");
            foreach (PSStreamItem item in p.ReadAll())
                using (item)
                    if (item.Value.AsInt64() != 1) throw new InvalidOperationException("unexpected output");
        }
        return sw.Elapsed.TotalMilliseconds / Commands;
    }

    /// <summary>The same through Invoke-Command, the loop timed by the script itself.</summary>
    private static double TheirsPerCommand(Runspace rs) =>
        Convert.ToDouble(Invoke(rs, $$"""
            $sw = [Diagnostics.Stopwatch]::StartNew()
            for ($i = 0; $i -lt {{Commands}}; $i++) { if ((Invoke-Command -Session $s { 1 }) -ne 1) { throw 'unexpected output' } }
            $sw.Elapsed.TotalMilliseconds
            """)[0].BaseObject) / Commands;

    /// <summary>Milliseconds to read <see cref="BigOutput"/> through the library, each string taken as a .NET string.</summary>
    private static double OursOutput(PSSession s)
    {
        var sw = Stopwatch.StartNew();
        long chars = 0;
        using (PSPipeline p = s.Invoke(BigOutput))
        {
            foreach (PSStreamItem item in p.ReadAll())
                using (item)
                    chars += item.Value.ToString().Length;
        }
        double ms = sw.Elapsed.TotalMilliseconds;
        Check(chars);
        return ms;
    }

    /// <summary>The same through Invoke-Command, timed by the script itself.</summary>
    private static double TheirsOutput(Runspace rs)
    {
        var result = Invoke(rs, $$"""
            $n = 0
            $sw = [Diagnostics.Stopwatch]::StartNew()
            Invoke-Command -Session $s { {{BigOutput}} } | ForEach-Object { $n += $_.Length }
            $sw.Elapsed.TotalMilliseconds
            $n
            """);
        Check(Convert.ToInt64(result[1].BaseObject));
        return Convert.ToDouble(result[0].BaseObject);
    }

    /// <summary>Milliseconds to receive every line of <paramref name="capture"/> through the process transport.</summary>
    private static double RawOutput(string capture, long expected)
    {
        var sw = Stopwatch.StartNew();
        long bytes = 0;
        using (PsrpTransport t = PsrpTransport.StartProcess("cat", [capture]))
        {
            while (t.Receive() is { } line) bytes += line.Length + 1;
        }
        double ms = sw.Elapsed.TotalMilliseconds;
        if (bytes != expected) throw new InvalidOperationException($"the raw read took {bytes} bytes of {expected}");
        return ms;
    }

    /// <summary>
    /// Runs <see cref="BigOutput"/> once on a session of its own whose server's output goes through
    /// <c>tee</c> into <paramref name="path"/>, and returns the size of what was captured (the session's
    /// opening and closing lines, a few KB, are in it too). The lines are ASCII, so bytes are characters.
    /// </summary>
    private static long Capture(SessionScope scope, string server, string path)
    {
        var transport = PsrpTransport.StartProcess("sh", ["-c", "out=$1; shift; \"$0\" \"$@\" | tee \"$out\"", server, path, .. ServerArgs]);
        PSSession s = scope.OpenPSSession(transport);
        try
        {
            OursOutput(s);
        }
        finally
        {
            scope.RemovePSSession(s);
            s.Dispose();
        }
        // tee writes each block to its output before the file, and may still be finishing: wait until the size settles.
        long size = -1;
        for (int i = 0; i < 50 && new FileInfo(path).Length is var now && now != size; i++)
        {
            size = now;
            Thread.Sleep(100);
        }
        return new FileInfo(path).Length;
    }

    /// <summary>User + system time of process <paramref name="pid"/> so far, in ms (stat(5): utime and stime, 100 Hz).</summary>
    private static double CpuMs(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(f[11]) + long.Parse(f[12])) * 10.0;
    }

    private static void Check(long chars)
    {
        if (chars != (long)Strings * StringLength) throw new InvalidOperationException($"read {chars} characters, not {Strings} MiB");
    }

    /// <summary>Prints a throughput figure: MB/s of <paramref name="bytes"/> payload for both, and the ratio of the times.</summary>
    private static void ReportRate(string what, long bytes, double ms, string baselineName, double baselineMs) =>
        Console.WriteLine($"{what}: {bytes / 1e3 / ms:F0} MB/s ({ms:F0} ms); baseline ({baselineName}): " +
            $"{bytes / 1e3 / baselineMs:F0} MB/s of the same payload ({baselineMs:F0} ms); ratio {ms / baselineMs:F2}x the time");

    private static System.Collections.ObjectModel.Collection<PSObject> Invoke(Runspace rs, string script)
    {
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = rs;
        var result = ps.AddScript(script).Invoke();
        if (ps.HadErrors) throw new InvalidOperationException("script failed: " + string.Join("; ", ps.Streams.Error));
        return result;
    }
}
