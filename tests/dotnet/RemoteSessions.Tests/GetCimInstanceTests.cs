using System.Management.Automation;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>Get-CimInstance against this machine: values compared with what the machine itself says.</summary>
public sealed class GetCimInstanceTests : IDisposable
{
    private readonly PowerShellRunner _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void OperatingSystem_values_match_the_machine()
    {
        PSObject os = _ps.Run("$s = New-CimSession; Get-CimInstance -CimSession $s -ClassName Win32_OperatingSystem").Single();
        Assert.Equal(Machine.MemInfoKb("MemTotal"), (ulong)os.Properties["TotalVisibleMemorySize"].Value);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), os.Properties["CSName"].Value);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), os.Properties["BuildNumber"].Value);
        var boot = Assert.IsType<DateTime>(os.Properties["LastBootUpTime"].Value);
        long btime = long.Parse(File.ReadLines("/proc/stat").First(l => l.StartsWith("btime ")).Split(' ')[1]);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(btime).LocalDateTime, boot);
        Assert.Equal("localhost", os.Properties["PSComputerName"].Value);
    }

    [Fact]
    public void Instances_carry_windows_type_names_and_cim_members()
    {
        PSObject os = _ps.Run("Get-CimInstance Win32_OperatingSystem").Single();
        Assert.Equal(new[]
        {
            "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_OperatingSystem",
            "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/CIM_OperatingSystem",
            "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/CIM_LogicalElement",
            "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/CIM_ManagedSystemElement",
            "Microsoft.Management.Infrastructure.CimInstance#Win32_OperatingSystem",
            "Microsoft.Management.Infrastructure.CimInstance#CIM_OperatingSystem",
            "Microsoft.Management.Infrastructure.CimInstance#CIM_LogicalElement",
            "Microsoft.Management.Infrastructure.CimInstance#CIM_ManagedSystemElement",
            "Microsoft.Management.Infrastructure.CimInstance",
            "System.Object",
        }, os.TypeNames);
        Assert.Equal("Win32_OperatingSystem", _ps.Run("(Get-CimInstance Win32_OperatingSystem).CimClass.CimClassName").Single().BaseObject);
        Assert.Equal("root/cimv2", _ps.Run("(Get-CimInstance Win32_OperatingSystem).CimSystemProperties.Namespace").Single().BaseObject);
        Assert.Equal("UInt64", _ps.Run("(Get-CimInstance Win32_OperatingSystem).CimInstanceProperties['TotalVisibleMemorySize'].CimType.ToString()").Single().BaseObject);
    }

    [Fact]
    public void OperatingSystem_prints_the_windows_table()
    {
        string text = _ps.Format("Get-CimInstance Win32_OperatingSystem");
        string header = text.Split('\n').First(l => l.Contains("SystemDirectory"));
        Assert.Matches(@"SystemDirectory\s+Organization\s+BuildNumber\s+RegisteredUser\s+SerialNumber\s+Version", header);
    }

    [Fact]
    public void Process_filter_and_projection_find_this_process()
    {
        string comm = File.ReadAllText("/proc/self/comm").Trim();
        uint parent = uint.Parse(Machine.SelfStatAfterComm()[1]);
        var found = _ps.Run($"Get-CimInstance -ClassName CIM_Process -Filter \"Name LIKE '{comm[..Math.Min(3, comm.Length)]}%'\" -Property Name,ProcessId,ParentProcessId");
        PSObject me = found.Single(p => (uint)p.Properties["ProcessId"].Value == (uint)Environment.ProcessId);
        Assert.Equal(comm, me.Properties["Name"].Value);
        Assert.Equal(parent, me.Properties["ParentProcessId"].Value);
        Assert.Null(me.Properties["CommandLine"].Value);
        Assert.Equal("Microsoft.Management.Infrastructure.CimInstance#__PartialCIMInstance", me.TypeNames[0]);
        Assert.Contains("Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Process", me.TypeNames);
        Assert.All(found, p => Assert.StartsWith(comm[..Math.Min(3, comm.Length)], (string)p.Properties["Name"].Value, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Query_finds_the_root_disk_with_dfs_size()
    {
        var disks = _ps.Run("$s = New-CimSession; Get-CimInstance -Query \"SELECT * FROM Win32_LogicalDisk WHERE FreeSpace > 0\" -CimSession $s");
        PSObject root = disks.Single(d => (string)d.Properties["DeviceID"].Value == "/");
        ulong dfSize = ulong.Parse(Machine.Run("df", "-B1", "--output=size", "/").Split('\n')[1].Trim());
        Assert.Equal(dfSize, root.Properties["Size"].Value);
        Assert.All(disks, d => Assert.True((ulong)d.Properties["FreeSpace"].Value > 0));
        Assert.Equal(true, root.Properties["PSShowComputerName"].Value);
    }

    [Fact]
    public void KeyOnly_gives_only_keys()
    {
        PSObject p = _ps.Run("Get-CimInstance Win32_Process -KeyOnly").First();
        Assert.NotNull(p.Properties["Handle"].Value);
        Assert.DoesNotContain(p.Properties, q => q.Name == "CommandLine" && q.Value is not null);
        Assert.Equal("Microsoft.Management.Infrastructure.CimInstance#__PartialCIMInstance", p.TypeNames[0]);
    }

    [Fact]
    public void Processor_count_matches_nproc()
    {
        var cpus = _ps.Run("Get-CimInstance Win32_Processor");
        uint total = (uint)cpus.Sum(c => (long)(uint)c.Properties["NumberOfLogicalProcessors"].Value);
        Assert.Equal(uint.Parse(Machine.Run("nproc", "--all")), total);
    }

    [Theory]
    [InlineData("Get-CimInstance -ClassName NoSuch_Class", "HRESULT 0x80041010", ErrorCategory.MetadataError)]
    [InlineData("Get-CimInstance -ClassName Win32_Process -Namespace root/nowhere", "HRESULT 0x8004100e", ErrorCategory.MetadataError)]
    [InlineData("Get-CimInstance -Query 'SELECT FROM WHERE'", "HRESULT 0x80041017", ErrorCategory.InvalidArgument)]
    [InlineData("Get-CimInstance -ClassName Win32_Process -Filter \"Name = \"", "HRESULT 0x80041017", ErrorCategory.InvalidArgument)]
    public void Bad_requests_give_windows_errors(string script, string errorId, ErrorCategory category)
    {
        Assert.Empty(_ps.Run(script));
        ErrorRecord e = Assert.Single(_ps.Errors);
        Assert.Equal(errorId + ",Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand", e.FullyQualifiedErrorId);
        Assert.Equal(category, e.CategoryInfo.Category);
    }

    [Fact]
    public void Service_enumeration_is_not_an_error()
    {
        _ps.Run("Get-CimInstance Win32_Service");
        Assert.Empty(_ps.Errors);
    }

    [Fact]
    public void Bad_class_name_characters_are_refused()
    {
        Assert.Empty(_ps.Run("Get-CimInstance -ClassName 'Win32 Process'"));
        ErrorRecord e = Assert.Single(_ps.Errors);
        Assert.Contains("contains characters that are not allowed", e.Exception.Message);
        // As Windows' CheckArgument: an ArgumentException out of the cmdlet, which the engine files as NotSpecified.
        Assert.Equal(ErrorCategory.NotSpecified, e.CategoryInfo.Category);
    }

    [Fact]
    public void InputObject_is_read_again()
    {
        PSObject again = _ps.Run("Get-CimInstance Win32_OperatingSystem | Get-CimInstance").Single();
        Assert.Equal(Machine.MemInfoKb("MemTotal"), (ulong)again.Properties["TotalVisibleMemorySize"].Value);
    }
}
