using RemoteSessions.Native;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>The C# library on its own, as a console program without PowerShell would use it.</summary>
public sealed class BindingTests
{
    static BindingTests()
    {
        // The test output has no copy of the native library when it was built before cargo; use target/.
        if (Environment.GetEnvironmentVariable(RemoteSessionsLibrary.PathEnvironmentVariable) is null or "")
        {
            string built = Path.Combine(Paths.Repo, "target", "release", "libremote_sessions.so");
            if (!File.Exists(Path.Combine(AppContext.BaseDirectory, "libremote_sessions.so")))
                Environment.SetEnvironmentVariable(RemoteSessionsLibrary.PathEnvironmentVariable, built);
        }
    }

    [Fact]
    public void Scope_sessions_and_lookups()
    {
        using var scope = new SessionScope();
        using CimSession a = scope.NewSession();
        using CimSession b = scope.NewSession(name: "web");
        Assert.Equal((1u, "CimSession1", "localhost", "Local"), (a.Id, a.Name, a.ComputerName, a.Protocol));
        Assert.Equal(2u, b.Id);

        var (found, missing) = scope.Find(Lookup.Name, ["cim*", "nosuch", "nosuch*"]);
        Assert.Equal(new[] { 1u }, found.Select(s => s.Id));
        Assert.Equal(new[] { "nosuch" }, missing);
        Assert.Equal(new[] { 1u, 2u }, scope.Find(Lookup.All).Found.Select(s => s.Id));
        Assert.Equal(new[] { 2u }, scope.Find(Lookup.InstanceId, [b.InstanceId.ToString()]).Found.Select(s => s.Id));

        scope.Remove(a);
        Assert.True(a.IsRemoved);
        var removedAgain = Assert.Throws<RemoteSessionsException>(() => scope.Remove(a));
        Assert.Equal(ResultCode.NotFound, removedAgain.Code);
        var use = Assert.Throws<RemoteSessionsException>(() => a.Enumerate(null, "Win32_OperatingSystem").ToList());
        Assert.Equal(ResultCode.SessionRemoved, use.Code);
    }

    [Fact]
    public void Enumerate_and_query_typed_values()
    {
        using var scope = new SessionScope();
        using CimSession s = scope.NewSession();
        CimInstanceData os = s.Enumerate("root/cimv2", "Win32_OperatingSystem").Single();
        Assert.Equal("Win32_OperatingSystem", os.ClassName);
        Assert.Equal("CIM_OperatingSystem", os.Superclasses[0]);
        CimPropertyData mem = os.Properties.Single(p => p.Name == "TotalVisibleMemorySize");
        Assert.Equal(CimType.UInt64, mem.CimType);
        Assert.Equal(Machine.MemInfoKb("MemTotal"), mem.Value);
        Assert.IsType<DateTime>(os.Properties.Single(p => p.Name == "LastBootUpTime").Value);

        CimInstanceData me = s.Query(null, null, $"SELECT Name, ProcessId FROM Win32_Process WHERE ProcessId = {Environment.ProcessId}").Single();
        Assert.Equal((uint)Environment.ProcessId, me.Properties.Single(p => p.Name == "ProcessId").Value);
        Assert.True(me.Properties.Single(p => p.Name == "Handle").IsKey);
    }

    [Theory]
    [InlineData("root/cimv2", "NoSuchClass", ResultCode.InvalidClass)]
    [InlineData("root/nowhere", "Win32_Process", ResultCode.InvalidNamespace)]
    public void Errors_carry_result_codes(string ns, string cls, ResultCode code)
    {
        using var scope = new SessionScope();
        using CimSession s = scope.NewSession();
        var e = Assert.Throws<RemoteSessionsException>(() => s.Enumerate(ns, cls).ToList());
        Assert.Equal(code, e.Code);
        Assert.Contains(code == ResultCode.InvalidClass ? cls : ns, e.Message);
        var q = Assert.Throws<RemoteSessionsException>(() => s.Query(null, null, "SELECT * FROM").ToList());
        Assert.Equal(ResultCode.InvalidQuery, q.Code);
        var d = Assert.Throws<RemoteSessionsException>(() => s.Query(null, "CQL", "SELECT * FROM Win32_Process").ToList());
        Assert.Equal(ResultCode.NotSupported, d.Code);
    }

    [Fact]
    public void PSSessions_are_registered_found_and_removed_with_their_transport()
    {
        using var scope = new SessionScope();
        using PsrpTransport transport = PsrpTransport.StartProcess("cat", []);
        var id = Guid.NewGuid();
        using PSSession s = scope.RegisterPSSession(7, id, "web", "host1", "SSH", transport);
        Assert.Equal((7, "web", "host1", "SSH", PSSessionState.Opened), (s.Id, s.Name, s.ComputerName, s.Transport, s.State));
        s.State = PSSessionState.Broken;
        var (found, missing) = scope.FindPSSessions(Lookup.Name, ["W*", "db"]);
        Assert.Equal(id, Assert.Single(found).InstanceId);
        Assert.Equal(PSSessionState.Broken, found[0].State);
        Assert.Equal(["db"], missing);
        Assert.Single(scope.FindPSSessions(Lookup.Id, ["7"]).Found);
        Assert.True(transport.ProcessId > 0);

        scope.RemovePSSession(s);
        Assert.Equal(PSSessionState.Closed, s.State);
        Assert.Equal(0, transport.ProcessId);
        Assert.Null(transport.Receive(1000));
        Assert.Equal(ResultCode.NotFound, Assert.Throws<RemoteSessionsException>(() => scope.RemovePSSession(s)).Code);
        Assert.Empty(scope.FindPSSessions(Lookup.All).Found);
    }

    [Fact]
    public void Dmtf_datetimes_convert()
    {
        Assert.Equal(new DateTimeOffset(2024, 3, 1, 0, 30, 0, TimeSpan.FromMinutes(60)).AddTicks(10).LocalDateTime,
            CimValues.ParseDateTime("20240301003000.000001+060"));
        Assert.Equal(new TimeSpan(3, 1, 1, 1) + TimeSpan.FromTicks(420), CimValues.ParseDateTime("00000003010101.000042:000"));
        Assert.Throws<FormatException>(() => CimValues.ParseDateTime("2024"));
    }
}
