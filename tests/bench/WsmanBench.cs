using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using RemoteSessions.Native;
using RemoteSessions.TestPeers;
using static RemoteSessions.Bench.Measure;

namespace RemoteSessions.Bench;

/// <summary>
/// The WS-Management figures, against the replay server (tests/replay-server) on 127.0.0.1, Basic over HTTP:
/// ad hoc Get-CimInstance vs one over a session; a warm Enumerate (C# library and cmdlet) vs a bare
/// keep-alive HTTP/1.1 loop on a raw socket, also against a server writing headers and body apart as OMI does; 10 000 synthetic instances end to end; 200 sessions to 200
/// listeners concurrently vs sequentially, and resident memory per idle session.
/// </summary>
public static class WsmanBench
{
    private const int Calls = 100;
    private const int Listeners = 200;
    private const int Synthetic = 10_000;
    private const string Identify = "-Namespace root/omi -ClassName OMI_Identify";

    /// <summary>Runs every WS-Management figure; <paramref name="manifest"/> is RemoteSessions.psd1.</summary>
    public static void Run(string manifest)
    {
        Console.WriteLine($"WS-Management: rsess-replay on 127.0.0.1 ({Listeners} HTTP listeners), Basic over HTTP; " +
            "medians of rounds, each round a loop; the raw-socket baselines post the same envelopes by hand");
        using ReplayServer replay = new ReplayServer().Start(httpPorts: Listeners);
        int port = replay.HttpPort;
        var cred = new CimCredential(CimAuthenticationMechanism.Basic, replay.User, replay.Password);
        using var scope = new SessionScope();
        CimSession Session(int p, string? prefix = null, uint envelopeKB = 0) => scope.NewSession("127.0.0.1", options: new CimSessionOptions
        {
            Protocol = ProtocolKind.Wsman, NoEncryption = true, Port = (uint)p, HttpPrefix = prefix, MaxEnvelopeSizeKB = envelopeKB,
        }, credential: cred, skipTestConnection: true);

        // Memory first, while listeners 2..200 have seen no traffic: the growth then includes each
        // session's pooled connection and cached class schema. One query beforehand pays the one-time
        // costs (runtime, pool, TLS roots) outside the figure.
        Query(Session(port));
        MemoryPerSession(replay, (p, prefix) => Session(p, prefix), out List<CimSession> fleet);

        // (4) Fan-out over the now warm sessions: one thread per session, released together.
        double concurrentCpu = 0, sequentialCpu = 0;
        double concurrent = Median(5, () => WithCpu(() => Concurrently(fleet), ref concurrentCpu));
        double sequential = Median(5, () => WithCpu(() => Time(() => fleet.ForEach(Query)), ref sequentialCpu));
        Report($"{Listeners} sessions to {Listeners} listeners, one Enumerate each, {Listeners} threads at once (wall)", concurrent,
            $"the same {Listeners} one after another", sequential, $"well below 1x ({Environment.ProcessorCount} cores here)");
        Console.WriteLine($"  this process's CPU per round: {concurrentCpu:F1} ms at once, {sequentialCpu:F1} ms one after another (last round)");

        // (2) A warm Enumerate over one session vs the same envelope on a bare keep-alive socket.
        using var raw = new RawHttp(port, replay.User, replay.Password);
        double socket = WarmEnumerate(replay, Session(port), raw, 9);
        SplitWrites(replay, Session(port, SplitPrefix), 9);

        using Runspace rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        rs.Open();
        Run(rs, $"Import-Module '{manifest}'; " +
            $"$cred = [pscredential]::new('{replay.User}', [System.Net.NetworkCredential]::new('', '{replay.Password}').SecurePassword); " +
            "$http = New-CimSessionOption -NoEncryption; " +
            $"$s = New-CimSession -ComputerName 127.0.0.1 -Port {port} -Credential $cred -Authentication Basic -SessionOption $http");
        string adHoc = $"Get-CimInstance -ComputerName 127.0.0.1 -Port {port} -Credential $cred -Authentication Basic -SessionOption $http {Identify}";
        string overSession = $"Get-CimInstance -CimSession $s {Identify}";
        Wire(replay, port, "Get-CimInstance -ComputerName (ad hoc)", () => Run(rs, adHoc));
        Wire(replay, port, "Get-CimInstance -CimSession", () => Run(rs, overSession));
        (double adHocMs, double sessionMs) = MedianPair(7,
            () => Time(() => Run(rs, $"foreach ($i in 1..{Calls}) {{ $null = {adHoc} }}")),
            () => Time(() => Run(rs, $"foreach ($i in 1..{Calls}) {{ $null = {overSession} }}")));
        // (1)
        Report($"{Calls}x Get-CimInstance -ComputerName 127.0.0.1 OMI_Identify (ad hoc)", adHocMs,
            $"{Calls}x Get-CimInstance -CimSession $s", sessionMs, "<= 1.2x");
        double trivial = Median(5, () => Time(() => Run(rs, $"foreach ($i in 1..{Calls}) {{ $null = Get-CimSession -Id 1 }}")));
        Report($"  context: {Calls}x Get-CimInstance -CimSession $s", sessionMs, $"{Calls}x Get-CimSession -Id 1 (a cmdlet of this module that sends nothing)", trivial);
        // (2), through the cmdlet
        Report("warm Get-CimInstance -CimSession $s OMI_Identify, per call", sessionMs / Calls,
            "the same Enumerate envelope over a raw keep-alive socket", socket, "<= 1.5x");

        // (3) for context: 10 000 synthetic XYZ_Number end to end (the Rust figure in MB/s is cargo bench wsman_parse).
        string prefix = $"wsman?synthetic={Synthetic}";
        // Envelopes of 16 MiB on both sides, so the whole enumeration is one reply (the raw socket sends no
        // Pull) and the server, which ends a page at MaxEnvelopeSize, leaves no context open.
        CimSession big = Session(port, prefix, BigEnvelopeKB);
        Query(big, "root/test", "XYZ_Number", Synthetic);
        byte[] synthetic = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(EnumerateEnvelope())
            .Replace("http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/OMI_Identify", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/XYZ_Number")
            .Replace(">root/omi<", ">root/test<")
            .Replace(">512000</w:MaxEnvelopeSize>", $">{BigEnvelopeKB * 1024}</w:MaxEnvelopeSize>"));
        int bytes = raw.Post("/" + prefix, synthetic, "XYZ_Number");
        double rawBig = Median(5, () => Time(() => raw.Post("/" + prefix, synthetic, "XYZ_Number")));
        double libraryBig = Median(5, () => Time(() => Query(big, "root/test", "XYZ_Number", Synthetic)));
        Run(rs, $"$big = New-CimSession -ComputerName 127.0.0.1 -Port {port} -Credential $cred -Authentication Basic -SkipTestConnection " +
            $"-SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix '{prefix}' -MaxEnvelopeSizeKB {BigEnvelopeKB})");
        double cmdletBig = Median(5, () => Time(() =>
        {
            int n = (int)Run(rs, "@(Get-CimInstance -CimSession $big -Namespace root/test -ClassName XYZ_Number).Count").Single().BaseObject;
            if (n != Synthetic) throw new InvalidOperationException($"Get-CimInstance gave {n} XYZ_Number instances, not {Synthetic}");
        }));
        Report($"Enumerate {Synthetic} synthetic XYZ_Number via the C# library ({bytes / 1e3 / libraryBig:F1} MB/s of reply)", libraryBig,
            $"a raw socket reading the same {bytes / 1e6:F2} MB reply ({bytes / 1e3 / rawBig:F1} MB/s)", rawBig);
        Report($"Get-CimInstance of {Synthetic} synthetic XYZ_Number ({Synthetic / cmdletBig:F1} instances/ms)", cmdletBig,
            "the same via the C# library", libraryBig);
        // Memory while streaming: the resident growth over 100 000 instances vs over 10 000. Pages hold up to
        // MaxElements (32 000) instances, so both hold one page at a time; memory that grew with the count
        // would make this 10x.
        CimSession huge = Session(port, "wsman?synthetic=100000");
        long growth10k = StreamingGrowthKiB(huge, 10_000), growth100k = StreamingGrowthKiB(huge, 100_000);
        Console.WriteLine($"resident growth while streaming 100000 synthetic XYZ_Number through the C# library: {growth100k} KiB; " +
            $"baseline (the first 10000 of them): {growth10k} KiB; ratio {(double)Math.Max(growth100k, 1) / Math.Max(growth10k, 1):F2}x; goal flat (far below the 10x of the counts)");
        Run(rs, "Get-CimSession | Remove-CimSession");
    }

    /// <summary>Only figure (2), with more rounds: for profiling the path of one warm request.</summary>
    public static void RunWarm()
    {
        using ReplayServer replay = new ReplayServer().Start();
        var cred = new CimCredential(CimAuthenticationMechanism.Basic, replay.User, replay.Password);
        using var scope = new SessionScope();
        CimSession s = scope.NewSession("127.0.0.1", options: new CimSessionOptions
        {
            Protocol = ProtocolKind.Wsman, NoEncryption = true, Port = (uint)replay.HttpPort,
        }, credential: cred, skipTestConnection: true);
        using var raw = new RawHttp(replay.HttpPort, replay.User, replay.Password);
        WarmEnumerate(replay, s, raw, 201);
        CimSession split = scope.NewSession("127.0.0.1", options: new CimSessionOptions
        {
            Protocol = ProtocolKind.Wsman, NoEncryption = true, Port = (uint)replay.HttpPort, HttpPrefix = SplitPrefix,
        }, credential: cred, skipTestConnection: true);
        SplitWrites(replay, split, 21);
    }

    /// <summary>The replay server's mode that answers as OMI does: headers and body in two writes, Nagle on.</summary>
    private const string SplitPrefix = "misbehave/split/wsman";

    /// <summary>
    /// (1b) Warm Enumerates against a server that writes a reply's headers and body separately with Nagle on
    /// (the replay server's split mode, as OMI): its body waits for the client's ACK of the headers. The
    /// library over <paramref name="s"/> vs a raw keep-alive socket that re-arms TCP_QUICKACK after every
    /// read, and, for context, one that does not (the ~40 ms delayed-ACK stall per call).
    /// </summary>
    private static void SplitWrites(ReplayServer replay, CimSession s, int rounds)
    {
        byte[] envelope = EnumerateEnvelope();
        string path = "/" + SplitPrefix;
        using var quick = new RawHttp(replay.HttpPort, replay.User, replay.Password, quickAck: true);
        using var delayed = new RawHttp(replay.HttpPort, replay.User, replay.Password, quickAck: false);
        Query(s);
        (double library, double socket) = MedianPair(rounds,
            () => Time(() => { for (int i = 0; i < SplitCalls; i++) Query(s); }) / SplitCalls,
            () => Time(() => { for (int i = 0; i < SplitCalls; i++) quick.Post(path, envelope, "OMI_Identify"); }) / SplitCalls);
        double stalled = Median(3, () => Time(() => { for (int i = 0; i < SplitCalls; i++) delayed.Post(path, envelope, "OMI_Identify"); }) / SplitCalls);
        Report("warm Enumerate OMI_Identify via the C# library, server writing headers and body apart with Nagle on (as OMI), per call", library,
            "the same over a raw keep-alive socket re-arming TCP_QUICKACK after every read", socket, "<= 2x");
        Report("  context: that raw socket", socket, "a raw keep-alive socket that leaves delayed ACKs on (the stall)", stalled);
    }

    /// <summary>Calls per round against the split-write server (a stalled call costs ~40 ms).</summary>
    private const int SplitCalls = 20;

    /// <summary>(2): <paramref name="rounds"/> pairs of 100 warm Enumerates over <paramref name="s"/> and 100 posts
    /// of the same envelope on <paramref name="raw"/>; reports the medians and returns the socket's (ms per call).</summary>
    private static double WarmEnumerate(ReplayServer replay, CimSession s, RawHttp raw, int rounds)
    {
        byte[] envelope = EnumerateEnvelope();
        Query(s);
        Wire(replay, replay.HttpPort, "C# library Enumerate over a session", () => Query(s));
        double libraryCpu = 0, socketCpu = 0;
        (double library, double socket) = MedianPair(rounds,
            () => WithCpu(() => Time(() => { for (int i = 0; i < Calls; i++) Query(s); }) / Calls, ref libraryCpu),
            () => WithCpu(() => Time(() => { for (int i = 0; i < Calls; i++) raw.Post("/wsman", envelope, "OMI_Identify"); }) / Calls, ref socketCpu));
        Report("warm Enumerate OMI_Identify via the C# library (CimSession.Enumerate), per call", library,
            "the same Enumerate envelope over a raw keep-alive socket", socket, "<= 1.5x");
        Console.WriteLine($"  this process's CPU per call: {libraryCpu * 1000 / Calls:F0} us via the library, {socketCpu * 1000 / Calls:F0} us via the raw socket (last round)");
        return socket;
    }

    /// <summary>MaxEnvelopeSize (KiB) of the whole-enumeration figure: room for 10 000 instances with their EPRs.</summary>
    private const uint BigEnvelopeKB = 16384;

    /// <summary>
    /// The recorded Enumerate of OMI_Identify, asking for each instance with its EPR as the library does
    /// (EnumerateObjectAndEPR): what the raw-socket baselines post, so the server does the same work for both.
    /// </summary>
    private static byte[] EnumerateEnvelope() => Encoding.UTF8.GetBytes(
        File.ReadAllText(Path.Combine(FixturesDir(), "omi-cim", "curl", "enumerate-request.xml"))
            .Replace("<w:MaxElements>32000</w:MaxElements>", "<w:MaxElements>32000</w:MaxElements><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>"));

    /// <summary>The highest VmRSS above its start (KiB) while reading the first <paramref name="count"/>
    /// instances of a synthetic enumeration, sampled every 1000 instances; the rest is released.</summary>
    private static long StreamingGrowthKiB(CimSession s, int count)
    {
        Settle();
        long start = RssKiB(), peak = start;
        int n = 0;
        foreach (CimInstanceData _ in s.Enumerate("root/test", "XYZ_Number"))
        {
            if (++n % 1000 == 0) peak = Math.Max(peak, RssKiB());
            if (n == count) break;
        }
        return peak - start;
    }

    /// <summary>
    /// Resident memory per idle session: VmRSS before and after creating one session per listener
    /// (SkipTestConnection) and one query on each, after a compacting GC and a short idle; also the
    /// growth of the native heap in use (glibc mallinfo2), which RSS noise from the .NET heap cannot
    /// hide. The sessions are returned.
    /// </summary>
    private static void MemoryPerSession(ReplayServer replay, Func<int, string?, CimSession> session, out List<CimSession> fleet)
    {
        Settle();
        long before = RssKiB(), managedBefore = GC.GetTotalMemory(false), nativeBefore = MallocInUse();
        fleet = replay.HttpPorts.Select(p => session(p, null)).ToList();
        fleet.ForEach(Query);
        Settle();
        long after = RssKiB();
        double n = fleet.Count;
        double perSession = (after - before) / n;
        double managed = (GC.GetTotalMemory(false) - managedBefore) / 1024.0 / n;
        double native = (MallocInUse() - nativeBefore) / 1024.0 / n;
        Console.WriteLine($"resident memory per idle WS-Man session ({fleet.Count} sessions to {fleet.Count} listeners, one query each, " +
            $"with its pooled connection): {perSession:F1} KiB (VmRSS {before} -> {after} KiB); of it native heap in use " +
            $"{native:F1} KiB, managed heap {managed:F1} KiB per session; goal <= 64 KiB; ratio to goal {perSession / 64:F2}x");
    }

    private static void Settle()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Thread.Sleep(500);
    }

    /// <summary>glibc's <c>struct mallinfo2</c>: the native heap's statistics, in bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 NativeMallInfo2();

    /// <summary>Bytes malloc has handed out and not got back (all arenas, mmapped blocks included).</summary>
    private static long MallocInUse()
    {
        MallInfo2 m = NativeMallInfo2();
        return (long)(m.Uordblks + m.Hblkhd);
    }

    private static long RssKiB() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    /// <summary>Wall milliseconds of one query on each session, each on a thread of its own, all released at once.</summary>
    private static double Concurrently(List<CimSession> sessions)
    {
        using var go = new ManualResetEventSlim();
        Exception? failure = null;
        var threads = sessions.Select(s => new Thread(() =>
        {
            go.Wait();
            try { Query(s); } catch (Exception e) { failure = e; }
        }, 256 * 1024)).ToList();
        threads.ForEach(t => t.Start());
        var sw = Stopwatch.StartNew();
        go.Set();
        threads.ForEach(t => t.Join());
        double ms = sw.Elapsed.TotalMilliseconds;
        if (failure is not null) throw new InvalidOperationException("a concurrent query failed", failure);
        return ms;
    }

    /// <summary>Enumerates a class (default OMI_Identify) and checks how many instances came.</summary>
    private static void Query(CimSession s) => Query(s, "root/omi", "OMI_Identify", 1);

    private static void Query(CimSession s, string ns, string className, int expected)
    {
        int n = s.Enumerate(ns, className).Count();
        if (n != expected) throw new InvalidOperationException($"{className} on {s.ComputerName}: {n} instances, not {expected}");
    }

    /// <summary>Prints what one call sends, from the server's request log.</summary>
    private static void Wire(ReplayServer replay, int port, string what, Action call)
    {
        replay.ClearRequests(port);
        call();
        Console.WriteLine($"  on the wire per call of {what}: {string.Join(", ", replay.Requests(port))}");
    }

    /// <summary>Runs <paramref name="measure"/> and puts the CPU milliseconds this process spent meanwhile into <paramref name="cpu"/>.</summary>
    private static double WithCpu(Func<double> measure, ref double cpu)
    {
        TimeSpan start = Process.GetCurrentProcess().TotalProcessorTime;
        double result = measure();
        cpu = (Process.GetCurrentProcess().TotalProcessorTime - start).TotalMilliseconds;
        return result;
    }

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static Collection<PSObject> Run(Runspace rs, string script)
    {
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = rs;
        Collection<PSObject> result = ps.AddScript(script).Invoke();
        if (ps.Streams.Error.Count > 0) throw new InvalidOperationException($"{script}: {ps.Streams.Error[0]}");
        return result;
    }

    /// <summary>RSESS_FIXTURES, else ../shared/fixtures beside the repository (as ReplayServer finds them).</summary>
    private static string FixturesDir()
    {
        if (Environment.GetEnvironmentVariable("RSESS_FIXTURES") is { Length: > 0 } dir) return dir;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Cargo.toml"))) return Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "fixtures"));
        throw new InvalidOperationException("Cannot find the repository root (Cargo.toml) above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// A bare HTTP/1.1 client on one keep-alive socket: a hand-written POST with Basic auth and
    /// Content-Length, the reply read by its Content-Length. The baseline of the library's transport.
    /// </summary>
    private sealed class RawHttp : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private readonly string _headers;
        private byte[] _buffer = new byte[64 * 1024];

        /// <summary>Whether every read re-arms TCP_QUICKACK, so what came is acknowledged at once.</summary>
        private readonly bool _quickAck;

        public RawHttp(int port, string user, string password, bool quickAck = false)
        {
            _quickAck = quickAck;
            _socket.Connect("127.0.0.1", port);
            string basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
            _headers = $"Host: 127.0.0.1:{port}\r\nAuthorization: Basic {basic}\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n";
        }

        /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/>; checks for a 200 naming <paramref name="expect"/>; returns the body length.</summary>
        public int Post(string path, byte[] body, string expect)
        {
            byte[] head = Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\n{_headers}Content-Length: {body.Length}\r\n\r\n");
            byte[] request = new byte[head.Length + body.Length];
            head.CopyTo(request, 0);
            body.CopyTo(request, head.Length);
            _socket.Send(request);
            int have = 0, end;
            while ((end = HeaderEnd(have)) < 0) have += Receive(have);
            string headers = Encoding.ASCII.GetString(_buffer, 0, end);
            if (!headers.StartsWith("HTTP/1.1 200")) throw new InvalidOperationException($"raw POST {path}: {headers.Split('\r')[0]}");
            string? length = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            int total = end + 4 + int.Parse(length?.Split(':')[1] ?? throw new InvalidOperationException("no Content-Length"));
            if (_buffer.Length < total) Array.Resize(ref _buffer, total);
            while (have < total) have += Receive(have);
            if (have != total) throw new InvalidOperationException("raw POST: more bytes than the reply");
            // A cheap check that this is the expected answer: the class name near the end of the body.
            if (!Encoding.UTF8.GetString(_buffer, Math.Max(end, total - 2048), Math.Min(2048, total - end)).Contains(expect))
                throw new InvalidOperationException($"raw POST {path}: the reply does not name {expect}");
            return total - end - 4;
        }

        private int Receive(int offset)
        {
            if (offset == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            int n = _socket.Receive(_buffer, offset, _buffer.Length - offset, SocketFlags.None);
            if (n == 0) throw new InvalidOperationException("raw POST: the server closed the connection");
            // Linux clears TCP_QUICKACK again by itself: set it after every read (IPPROTO_TCP 6, TCP_QUICKACK 12).
            if (_quickAck) _socket.SetRawSocketOption(6, 12, BitConverter.GetBytes(1));
            return n;
        }

        private int HeaderEnd(int have)
        {
            for (int i = 0; i + 3 < have; i++)
                if (_buffer[i] == '\r' && _buffer[i + 1] == '\n' && _buffer[i + 2] == '\r' && _buffer[i + 3] == '\n') return i;
            return -1;
        }

        public void Dispose() => _socket.Dispose();
    }
}
