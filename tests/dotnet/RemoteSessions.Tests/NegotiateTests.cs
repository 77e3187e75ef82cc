using RemoteSessions.Native;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// The replay server behind the Negotiate endpoint (which seals every message and forwards what it
/// opens), in a loopback realm: full CIM conversations with Kerberos and NTLM.
/// </summary>
public sealed class NegotiateFixture : IDisposable
{
    public ReplayServer Replay { get; } = new ReplayServer().Start();
    public NegotiatePeers Peers { get; }

    public NegotiateFixture() => Peers = new NegotiatePeers().Start((Replay.Url(), Replay.User, Replay.Password));

    public void Dispose()
    {
        Peers.Dispose();
        Replay.Dispose();
    }
}

/// <summary>
/// Negotiate, Kerberos and NTLM through the C# library alone (no PowerShell in this process): CIM sessions
/// and enumerations with each mechanism, every message sealed (MS-WSMV 2.2.9.1) or bound to the TLS
/// certificate, the ticket cache, wrong passwords, expired tickets and a Basic-only server.
/// </summary>
public sealed class NegotiateTests(NegotiateFixture fixture) : IClassFixture<NegotiateFixture>
{
    private NegotiatePeers Peers => fixture.Peers;

    private CimSessionOptions Http => new() { Port = (uint)Peers.HttpPort };

    private static IReadOnlyList<CimInstanceData> Identify(CimSession s) => s.Enumerate("root/omi", "OMI_Identify").ToList();

    private void NoViolations() => Assert.DoesNotContain("VIOLATION", Peers.Events);

    [Theory]
    [InlineData(CimAuthenticationMechanism.NtlmDomain, NegotiatePeers.NtlmUser, NegotiatePeers.NtlmPassword, "NTLM")]
    [InlineData(CimAuthenticationMechanism.Kerberos, NegotiatePeers.KerberosUser, NegotiatePeers.KerberosPassword, "Kerberos")]
    [InlineData(CimAuthenticationMechanism.Negotiate, NegotiatePeers.KerberosUser, NegotiatePeers.KerberosPassword, "Kerberos")]
    [InlineData(CimAuthenticationMechanism.Negotiate, NegotiatePeers.NtlmUser, NegotiatePeers.NtlmPassword, "NTLM")]
    [InlineData(CimAuthenticationMechanism.Default, NegotiatePeers.KerberosUser, NegotiatePeers.KerberosPassword, "Kerberos")]
    public void Each_mechanism_runs_a_sealed_enumeration(CimAuthenticationMechanism mechanism, string user, string password, string package)
    {
        using var scope = new SessionScope();
        using CimSession s = scope.NewSession("127.0.0.1", options: Http, credential: new CimCredential(mechanism, user, password));
        IReadOnlyList<CimInstanceData> found = Identify(s);
        Assert.Equal("OMI_Identify", Assert.Single(found).ClassName);
        Assert.True(Peers.SawEvent($"authenticated {package} "), Peers.Events);
        Assert.True(Peers.SawEvent($"sealed {package} request"), Peers.Events);
        NoViolations();
    }

    [Fact]
    public void Over_https_the_context_is_bound_to_the_certificate_and_bodies_go_in_clear_inside_tls()
    {
        using var scope = new SessionScope();
        var https = new CimSessionOptions { Port = (uint)Peers.HttpsPort, UseSsl = true, SkipCACheck = true, SkipCNCheck = true };
        using CimSession s = scope.NewSession("127.0.0.1", options: https,
            credential: new CimCredential(CimAuthenticationMechanism.Kerberos, NegotiatePeers.KerberosUser, NegotiatePeers.KerberosPassword));
        Assert.Single(Identify(s));
        NoViolations();
    }

    [Fact]
    public void CredSsp_delegates_the_password_once_the_inner_certificate_is_accepted()
    {
        using var scope = new SessionScope();
        var credential = new CimCredential(CimAuthenticationMechanism.CredSsp, NegotiatePeers.NtlmUser, NegotiatePeers.NtlmPassword);
        var e = Assert.Throws<RemoteSessionsException>(() => scope.NewSession("127.0.0.1", options: Http, credential: credential));
        Assert.Equal(ResultCode.TlsFailed, e.Code);
        using CimSession s = scope.NewSession("127.0.0.1", options: Http with { SkipCACheck = true, SkipCNCheck = true }, credential: credential);
        Assert.Equal("WSMAN", s.Protocol);
        Assert.True(Peers.SawEvent("(password matches)"), Peers.Events);
        NoViolations();
        var wrong = new CimCredential(CimAuthenticationMechanism.CredSsp, NegotiatePeers.NtlmUser, "Wrong-Pa55-x");
        e = Assert.Throws<RemoteSessionsException>(() => scope.NewSession("127.0.0.1", options: Http with { SkipCACheck = true, SkipCNCheck = true }, credential: wrong));
        Assert.Equal(ResultCode.AccessDenied, e.Code);
        Assert.Contains("CredSSP", e.Message);
        Assert.DoesNotContain("Wrong-Pa55-x", e.Message);
    }

    [Theory]
    [InlineData(CimAuthenticationMechanism.NtlmDomain, NegotiatePeers.NtlmUser, "NTLM: logon failure")]
    [InlineData(CimAuthenticationMechanism.Kerberos, NegotiatePeers.KerberosUser, "Kerberos:")]
    public void A_wrong_password_is_access_denied_naming_the_mechanism_and_not_the_password(CimAuthenticationMechanism mechanism, string user, string expected)
    {
        using var scope = new SessionScope();
        var e = Assert.Throws<RemoteSessionsException>(() =>
            scope.NewSession("127.0.0.1", options: Http, credential: new CimCredential(mechanism, user, "Wrong-Pa55-x")));
        Assert.Equal(ResultCode.AccessDenied, e.Code);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("Wrong-Pa55-x", e.Message + e);
        Assert.Empty(scope.Find(Lookup.All).Found);
    }

    [Fact]
    public void The_ticket_cache_serves_without_a_credential_and_an_expired_ticket_is_refused_clearly()
    {
        using var scope = new SessionScope();
        // First a ticket that lives 2 s, used once it has expired: the library must not send it, and says
        // why. (Afterwards a connection authenticated with a good ticket would be reused from the pool.)
        Assert.Equal(0, Peers.Kinit(NegotiatePeers.KerberosUser, NegotiatePeers.KerberosPassword, "2s"));
        Thread.Sleep(3500);
        var e = Assert.Throws<RemoteSessionsException>(() =>
            scope.NewSession("127.0.0.1", options: Http, credential: new CimCredential(CimAuthenticationMechanism.Kerberos)));
        Assert.Equal(ResultCode.AccessDenied, e.Code);
        Assert.Matches("(?i)Kerberos:.*expired", e.Message);

        Assert.Equal(0, Peers.Kinit(NegotiatePeers.KerberosUser, NegotiatePeers.KerberosPassword));
        using (CimSession s = scope.NewSession("127.0.0.1", options: Http, credential: new CimCredential(CimAuthenticationMechanism.Kerberos)))
            Assert.Single(Identify(s));
        NoViolations();
    }

    [Fact]
    public void Default_does_not_fall_back_to_basic_on_a_server_that_offers_only_basic()
    {
        using var scope = new SessionScope();
        var options = new CimSessionOptions { Port = (uint)fixture.Replay.HttpPort, NoEncryption = true };
        var e = Assert.Throws<RemoteSessionsException>(() =>
            scope.NewSession("127.0.0.1", options: options, credential: new CimCredential(CimAuthenticationMechanism.Default, fixture.Replay.User, fixture.Replay.Password)));
        Assert.Equal(ResultCode.AccessDenied, e.Code);
        Assert.Contains("does not offer Negotiate authentication (it offers Basic)", e.Message);
        using CimSession basic = scope.NewSession("127.0.0.1", options: options,
            credential: new CimCredential(CimAuthenticationMechanism.Basic, fixture.Replay.User, fixture.Replay.Password));
        Assert.Single(Identify(basic));
    }
}
