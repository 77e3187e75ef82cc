using RemoteSessions.Native;
using RemoteSessions.TestPeers;
using static RemoteSessions.Bench.Measure;

namespace RemoteSessions.Bench;

/// <summary>
/// What Negotiate costs, through the C# library: the replay server behind the Negotiate test endpoint
/// (tests/negotiate-server with --upstream, in a loopback realm made by tests/kdc.sh), which forwards
/// Basic requests as they come and opens and seals everything else, so both sides of each ratio take the
/// same path. (1) A warm Enumerate with NTLM and Kerberos, every message sealed (MS-WSMV 2.2.9.1), vs
/// Basic; (2) the first request of a new connection (TCP, the token legs, the sealed request) vs a warm one.
/// </summary>
public static class NegotiateBench
{
    private const int Calls = 100;
    private const int Rounds = 9;

    /// <summary>Runs the Negotiate figures.</summary>
    public static void Run()
    {
        Console.WriteLine("Negotiate: rsess-replay behind rsess-negotiate on 127.0.0.1 (a loopback MIT realm, gss-ntlmssp); " +
            "medians of rounds of 100 calls (new connections: 20 calls)");
        using ReplayServer replay = new ReplayServer().Start();
        using NegotiatePeers peers = new NegotiatePeers().Start((replay.Url(), replay.User, replay.Password), allowBasic: true);
        using var scope = new SessionScope();
        CimSession Session(CimCredential credential, string? prefix = null) => scope.NewSession("127.0.0.1", options: new CimSessionOptions
        {
            Protocol = ProtocolKind.Wsman, Port = (uint)peers.HttpPort, HttpPrefix = prefix,
            NoEncryption = credential.Mechanism == CimAuthenticationMechanism.Basic,
        }, credential: credential, skipTestConnection: true);
        var basic = new CimCredential(CimAuthenticationMechanism.Basic, replay.User, replay.Password);
        var ntlm = new CimCredential(CimAuthenticationMechanism.NtlmDomain, NegotiatePeers.NtlmUser, NegotiatePeers.NtlmPassword);
        var kerberos = new CimCredential(CimAuthenticationMechanism.Kerberos, NegotiatePeers.KerberosUser, NegotiatePeers.KerberosPassword);

        CimSession basicSession = Session(basic), ntlmSession = Session(ntlm), kerberosSession = Session(kerberos);
        // The front (another .NET process) compiles its hot paths as it goes: warm every path up first.
        foreach (CimSession s in new[] { basicSession, ntlmSession, kerberosSession }) PerCall(s, 1000);
        (double ntlmWarm, double basicWarm) = MedianPair(Rounds, () => PerCall(ntlmSession, Calls), () => PerCall(basicSession, Calls));
        Report("warm Enumerate OMI_Identify, NTLM with every message sealed, per call", ntlmWarm,
            "the same with Basic over HTTP (no encryption) through the same front", basicWarm, "<= 1.5x");
        (double kerberosWarm, double basicAgain) = MedianPair(Rounds, () => PerCall(kerberosSession, Calls), () => PerCall(basicSession, Calls));
        Report("warm Enumerate OMI_Identify, Kerberos (AES) with every message sealed, per call", kerberosWarm,
            "the same with Basic", basicAgain, "<= 1.5x");

        // A path ending in /close makes the front close each connection after its reply.
        CimSession ntlmFresh = Session(ntlm, "wsman/close"), kerberosFresh = Session(kerberos, "wsman/close");
        (double ntlmFirst, double ntlmAgain) = MedianPair(Rounds, () => PerCall(ntlmFresh, Calls / 5), () => PerCall(ntlmSession, Calls));
        Report("first request of a new NTLM connection (TCP, 2 token legs, the sealed request)", ntlmFirst,
            "a warm NTLM request", ntlmAgain);
        (double kerberosFirst, double kerberosAgain) = MedianPair(Rounds, () => PerCall(kerberosFresh, Calls / 5), () => PerCall(kerberosSession, Calls));
        Report("first request of a new Kerberos connection (TCP, AP-REQ/AP-REP with a cached service ticket, the sealed request)", kerberosFirst,
            "a warm Kerberos request", kerberosAgain);
        if (peers.Events.Contains("VIOLATION", StringComparison.Ordinal))
            Console.WriteLine("  WARNING: the endpoint saw a request that was not sealed: " + peers.Events);
    }

    /// <summary>Milliseconds per call of <paramref name="calls"/> Enumerates of OMI_Identify over <paramref name="s"/>.</summary>
    private static double PerCall(CimSession s, int calls)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < calls; i++)
            if (s.Enumerate("root/omi", "OMI_Identify").Count() != 1) throw new InvalidOperationException("OMI_Identify: not one instance");
        return sw.Elapsed.TotalMilliseconds / calls;
    }
}
