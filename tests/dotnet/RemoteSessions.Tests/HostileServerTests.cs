using System.Management.Automation;
using RemoteSessions.Native;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// The WS-Management reply reader against hostile servers: the replay server's hostile modes
/// (tests/replay-server/Hostile.cs, <c>/misbehave/&lt;mode&gt;/wsman</c>) answer requests about
/// XYZ_Hostile with replies nested 5000 deep, with 300k attributes, 120k nested namespace declarations,
/// 65k namespace URIs, 60 MB of tiny elements or a 50 MB fault reason, and every other request normally.
/// Each must end in a clear error (or a result), without crashing this process or making it hold the
/// reply's megabytes, and the session must still work afterwards. A reader that hung would end at the
/// session's operation timeout, a Timeout error these tests do not expect. Memory bounds are generous:
/// they catch hundreds of megabytes, they are no benchmarks.
/// </summary>
public sealed class HostileServerTests : IClassFixture<ReplayServerFixture>, IDisposable
{
    private readonly ReplayServer _server;
    private readonly SessionScope _scope = new();
    private readonly PowerShellRunner _ps = new();

    public HostileServerTests(ReplayServerFixture server) => _server = server;

    public void Dispose()
    {
        _ps.Run("Get-CimSession | Remove-CimSession");
        _ps.Dispose();
        _scope.Dispose();
    }

    /// <summary>A tested session to the mode's URL, asking for envelopes of <paramref name="envelopeKB"/> KiB (0: default).</summary>
    private CimSession Hostile(string mode, uint envelopeKB = 0) =>
        _scope.NewSession("127.0.0.1",
            options: new CimSessionOptions { Port = (uint)_server.HttpPort, NoEncryption = true, HttpPrefix = $"misbehave/{mode}/wsman", MaxEnvelopeSizeKB = envelopeKB },
            credential: new CimCredential(CimAuthenticationMechanism.Basic, _server.User, _server.Password));

    /// <summary>This process's peak resident memory so far, in KiB (VmHWM).</summary>
    private static long PeakKiB() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    /// <summary>A normal enumeration on the same session still works.</summary>
    private static void StillWorks(CimSession s) =>
        Assert.Equal("OMI", s.Enumerate("root/omi", "OMI_Identify").Single().Properties.Single(p => p.Name == "ProductName").Value);

    [Theory]
    [InlineData("deep", 0u, "more than 256 deep")]
    [InlineData("attributes", 0u, "larger than 1089536 bytes")]
    [InlineData("oversize", 0u, "larger than 1089536 bytes")]
    [InlineData("hugefault", 0u, "larger than 1089536 bytes")]
    [InlineData("attributes", 8192u, "more than 256 attributes")]
    [InlineData("xmlns", 8192u, "more than 256 namespace declarations")]
    [InlineData("oversize", 8192u, "larger than 16842752 bytes")]
    public void A_hostile_reply_is_a_clear_error_and_the_session_still_works(string mode, uint envelopeKB, string says)
    {
        using CimSession s = Hostile(mode, envelopeKB);
        long peak = PeakKiB();
        var e = Assert.Throws<RemoteSessionsException>(() => s.Enumerate("root/test", "XYZ_Hostile").ToList());
        Assert.Equal(ResultCode.BadReply, e.Code);
        Assert.Contains(says, e.Message);
        Assert.True(e.Message.Length < 1000, $"{e.Message.Length} characters");
        // Nothing near the reply's megabytes stays resident (reading 60 MB whole took about 865 MB).
        long grew = PeakKiB() - peak;
        Assert.True(grew < 200 * 1024, $"peak resident memory grew by {grew} KiB");
        StillWorks(s);
    }

    [Fact]
    public void A_get_whose_reply_nests_5000_deep_is_an_error()
    {
        using CimSession s = Hostile("deep");
        var e = Assert.Throws<RemoteSessionsException>(() => s.GetInstance("root/test", "XYZ_Hostile", [("Name", "hostile")]));
        Assert.Equal(ResultCode.BadReply, e.Code);
        Assert.Contains("deep", e.Message);
        StillWorks(s);
    }

    [Fact]
    public void Sixty_five_thousand_namespace_uris_are_read()
    {
        using CimSession s = Hostile("namespaces", 8192);
        CimInstanceData item = s.Enumerate("root/test", "XYZ_Hostile").Single();
        Assert.Equal(65000, Assert.IsAssignableFrom<Array>(item.Properties.Single(p => p.Name == "E").Value).Length);
        StillWorks(s);
    }

    [Fact]
    public void A_50_MB_fault_reason_is_cut_to_4_KB()
    {
        // Envelopes of 128 MiB let the fault through the size check to the fault reader.
        using CimSession s = Hostile("hugefault", 131072);
        var e = Assert.Throws<RemoteSessionsException>(() => s.Enumerate("root/test", "XYZ_Hostile").ToList());
        Assert.Equal(ResultCode.Fault, e.Code);
        Assert.Contains("hostile: reason reason", e.Message);
        Assert.True(e.Message.Length < 4400, $"{e.Message.Length} characters");
        StillWorks(s);
    }

    [Fact]
    public void Get_CimInstance_reports_a_deep_reply_as_CimBadReply_and_the_session_goes_on()
    {
        _ps.Run($"$cred = [pscredential]::new('{_server.User}', [System.Net.NetworkCredential]::new('', '{_server.Password}').SecurePassword); " +
                $"$s = New-CimSession -ComputerName 127.0.0.1 -Port {_server.HttpPort} -Credential $cred -Authentication Basic " +
                "-SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix misbehave/deep/wsman)");
        Assert.Empty(_ps.Errors);
        Assert.Empty(_ps.Run("Get-CimInstance -CimSession $s -Namespace root/test -ClassName XYZ_Hostile"));
        ErrorRecord error = Assert.Single(_ps.Errors);
        Assert.Equal("CimBadReply,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.ProtocolError, error.CategoryInfo.Category);
        Assert.Contains("more than 256 deep", error.ErrorDetails?.Message ?? error.Exception.Message);
        var os = _ps.Run("Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify");
        Assert.Empty(_ps.Errors);
        Assert.Equal("OMI", Assert.Single(os).Properties["ProductName"].Value);
    }
}
