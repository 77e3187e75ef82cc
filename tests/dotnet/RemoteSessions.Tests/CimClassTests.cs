using System.Management.Automation;
using RemoteSessions.Native;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>Get-CimClass and Get-CimAssociatedInstance on this machine's provider.</summary>
public sealed class CimClassTests : IDisposable
{
    private readonly PowerShellRunner _ps = new();

    public void Dispose() => _ps.Dispose();

    private object One(string script) => _ps.Run(script).Single().BaseObject;

    [Fact]
    public void Classes_declare_what_their_instances_carry()
    {
        PSObject c = _ps.Run("$c = Get-CimClass Win32_Process; $c").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("Microsoft.Management.Infrastructure.CimClass#root/cimv2/Win32_Process", c.TypeNames[0]);
        Assert.Equal("Win32_Process|CIM_Process|root/cimv2", One("'{0}|{1}|{2}' -f $c.CimClassName, $c.CimSuperClassName, $c.CimSystemProperties.Namespace"));
        Assert.Equal(true, One("$c.CimClassProperties['Handle'].Flags.HasFlag([RemoteSessions.CimFlags]::Key)"));
        Assert.Equal(true, One("$c.CimClassProperties['ProcessId'].Flags.HasFlag([RemoteSessions.CimFlags]::ReadOnly)"));
        Assert.Equal("UInt32", One("$c.CimClassProperties['ProcessId'].CimType.ToString()"));
        Assert.Equal("Terminate,GetOwner", One("$c.CimClassMethods.Name -join ','"));
        Assert.Equal(true, One("$i = @(Get-CimInstance Win32_Process)[0]; ($i.CimClass.CimClassProperties.Name -join ',') -eq ($c.CimClassProperties.Name -join ',')"));
    }

    [Fact]
    public void Wildcards_and_filters_pick_classes()
    {
        var win32 = _ps.Run("(Get-CimClass -ClassName Win32_*).CimClassName").Select(o => (string)o.BaseObject).ToArray();
        Assert.Contains("Win32_Service", win32);
        Assert.All(win32, n => Assert.StartsWith("Win32_", n));
        var handles = _ps.Run("(gcls -PropertyName ProcessId).CimClassName").Select(o => (string)o.BaseObject).ToArray();
        Assert.Contains("Win32_Process", handles);
        Assert.DoesNotContain("Win32_BIOS", handles);
        // Locally only Win32_Process declares methods (Terminate, GetOwner).
        Assert.Equal(["Win32_Process"], _ps.Run("(Get-CimClass -MethodName *).CimClassName").Select(o => (string)o.BaseObject));
        // -QualifierName looks at the class's own qualifiers (Key is a property's).
        Assert.Empty(_ps.Run("Get-CimClass -QualifierName Key -ClassName Win32_BIOS -Amended"));
        Assert.Empty(_ps.Errors);
        string table = _ps.Format("Get-CimClass Win32_BIOS");
        Assert.Contains("Win32_BIOS", table);
    }

    [Fact]
    public void Unknown_classes_are_not_found_and_unknown_namespaces_are_metadata_errors()
    {
        Assert.Empty(_ps.Run("Get-CimClass Win32_Nothing"));
        // As Windows' Get-CimClass: "Not found", where Get-CimInstance of the same class says "Invalid class".
        Assert.Equal(("HRESULT 0x80041002,Microsoft.Management.Infrastructure.CimCmdlets.GetCimClassCommand", ErrorCategory.ObjectNotFound), (_ps.Errors.Single().FullyQualifiedErrorId, _ps.Errors.Single().CategoryInfo.Category));
        Assert.Empty(_ps.Run("Get-CimInstance Win32_Nothing"));
        Assert.Equal("HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand", _ps.Errors.Single().FullyQualifiedErrorId);
        Assert.Empty(_ps.Run("Get-CimClass -Namespace root/nothing"));
        Assert.StartsWith("HRESULT 0x8004100e", _ps.Errors.Single().FullyQualifiedErrorId);
    }

    [Fact]
    public void Instances_and_refs_to_them_become_references()
    {
        _ps.Run("$five = New-CimInstance -ClassName XYZ_Number -Namespace root/test -Property ([ordered]@{ Number = [uint32]5; Name = 'a\"b' }) -Key Number,Name -ClientOnly; " +
                "$link = New-CimInstance -ClassName XYZ_Link -Property @{ Lower = [ref]$five; Both = @($five, $five) } -ClientOnly");
        Assert.Empty(_ps.Errors);
        Assert.Equal("Reference|root/test:XYZ_Number.Number=\"5\",Name=\"a\\\"b\"", _ps.Run("'{0}|{1}' -f $link.CimInstanceProperties['Lower'].CimType, $link.Lower").Single().BaseObject);
        Assert.Equal("ReferenceArray", _ps.Run("$link.CimInstanceProperties['Both'].CimType.ToString()").Single().BaseObject);
    }

    [Fact]
    public void The_local_provider_has_no_associations()
    {
        Assert.Empty(_ps.Run("Get-CimInstance Win32_OperatingSystem | Get-CimAssociatedInstance"));
        Assert.Empty(_ps.Errors);
        Assert.Empty(_ps.Run("Get-CimInstance Win32_OperatingSystem | Get-CimAssociatedInstance -Association Win32_Nothing"));
        Assert.Equal(ErrorCategory.MetadataError, _ps.Errors.Single().CategoryInfo.Category);
    }
}
