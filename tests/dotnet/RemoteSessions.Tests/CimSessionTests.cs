using System.Management.Automation;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>New-/Get-/Remove-CimSession and New-CimSessionOption as spec/cmdlet-behaviour.md §1.1–§1.6 describe.</summary>
public sealed class CimSessionTests : IDisposable
{
    private readonly PowerShellRunner _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void NewCimSession_local_gets_id_1_and_default_name()
    {
        PSObject s = _ps.Run("New-CimSession").Single();
        Assert.Equal(1u, s.Properties["Id"].Value);
        Assert.Equal("CimSession1", s.Properties["Name"].Value);
        Assert.Equal("localhost", s.Properties["ComputerName"].Value);
        Assert.Equal("Local", s.Properties["Protocol"].Value);
        Assert.NotEqual(Guid.Empty, (Guid)s.Properties["InstanceId"].Value);

        PSObject web = _ps.Run("New-CimSession -Name web").Single();
        Assert.Equal(2u, web.Properties["Id"].Value);
        Assert.Equal("web", web.Properties["Name"].Value);
    }

    [Fact]
    public void Ids_are_per_runspace()
    {
        using var other = new PowerShellRunner();
        _ps.Run("New-CimSession; New-CimSession");
        Assert.Equal(1u, other.Run("New-CimSession").Single().Properties["Id"].Value);
        Assert.Equal(3u, _ps.Run("New-CimSession").Single().Properties["Id"].Value);
        Assert.Single(other.Run("Get-CimSession"));
    }

    [Fact]
    public void Failed_NewCimSession_consumes_no_id_and_says_dcom_is_not_available()
    {
        var none = _ps.Run("New-CimSession -SessionOption (New-CimSessionOption -Protocol Dcom) -ComputerName otherhost");
        Assert.Empty(none);
        ErrorRecord e = Assert.Single(_ps.Errors);
        Assert.Equal("DcomNotAvailable,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.NotImplemented, e.CategoryInfo.Category);
        Assert.Contains("DCOM", e.Exception.Message);
        Assert.Equal(1u, _ps.Run("New-CimSession").Single().Properties["Id"].Value);
    }

    [Fact]
    public void Dcom_options_with_port_are_refused()
    {
        Assert.Empty(_ps.Run("New-CimSession -SessionOption (New-CimSessionOption -Protocol Dcom) -Port 5985"));
        ErrorRecord e = Assert.Single(_ps.Errors);
        Assert.Equal("Parameter 'Port' cannot be used with the parameter 'DComSessionOptions'.", e.Exception.Message);
        Assert.Equal("New-CimSession,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand", e.FullyQualifiedErrorId);
        Assert.Empty(_ps.Run("Get-CimSession"));
    }

    [Fact]
    public void GetCimSession_lookups()
    {
        _ps.Run("$s = New-CimSession; $w = New-CimSession -Name web");
        Assert.Equal(2, _ps.Run("Get-CimSession").Count);
        Assert.Equal("CimSession1", _ps.Run("Get-CimSession -Name Cim*").Single().Properties["Name"].Value);
        Assert.Equal("web", _ps.Run("Get-CimSession -Name WEB").Single().Properties["Name"].Value);
        Assert.Equal("web", _ps.Run("Get-CimSession -Id 2").Single().Properties["Name"].Value);
        Assert.Equal(2, _ps.Run("Get-CimSession -ComputerName LOCALHOST").Count);
        Assert.Equal("CimSession1", _ps.Run("Get-CimSession -InstanceId $s.InstanceId").Single().Properties["Name"].Value);
        Assert.True((bool)_ps.Run("[object]::ReferenceEquals((Get-CimSession -Id 1).psobject.BaseObject, $s.psobject.BaseObject)").Single().BaseObject);
        Assert.Empty(_ps.Errors);
        Assert.Empty(_ps.Run("Get-CimSession -Name nomatch*"));
        Assert.Empty(_ps.Errors);
    }

    [Fact]
    public void GetCimSession_miss_is_ObjectNotFound_with_windows_wording()
    {
        _ps.Run("New-CimSession");
        Assert.Empty(_ps.Run("Get-CimSession -Id 9"));
        ErrorRecord e = Assert.Single(_ps.Errors);
        Assert.Equal("Could not find CimSession with the given Id = 9", e.Exception.Message);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        Assert.Equal("Microsoft.Management.Infrastructure.CimCmdlets.GetCimSessionCommand", e.FullyQualifiedErrorId);

        Assert.Single(_ps.Run("Get-CimSession -Name CimSession1, web"));
        Assert.Equal("Could not find CimSession with the given Name = web", Assert.Single(_ps.Errors).Exception.Message);
    }

    [Fact]
    public void RemoveCimSession_by_pipeline_name_and_whatif()
    {
        _ps.Run("$s = New-CimSession; New-CimSession -Name web; New-CimSession -Name other");
        _ps.Run("Get-CimSession | Remove-CimSession -WhatIf");
        Assert.Equal(3, _ps.Run("Get-CimSession").Count);
        _ps.Run("$s | Remove-CimSession");
        Assert.Empty(_ps.Errors);
        Assert.Equal(2, _ps.Run("Get-CimSession").Count);
        _ps.Run("Remove-CimSession -Name web");
        Assert.Equal("other", _ps.Run("Get-CimSession").Single().Properties["Name"].Value);
        _ps.Run("$s | Remove-CimSession");
        Assert.Equal("Could not find CimSession with the given CimSession = {CimSession Object}", Assert.Single(_ps.Errors).Exception.Message);
        _ps.Run("Remove-CimSession -Id 3");
        Assert.Empty(_ps.Run("Get-CimSession"));
        Assert.Equal(4u, _ps.Run("New-CimSession").Single().Properties["Id"].Value);
    }

    [Fact]
    public void Removed_session_cannot_be_used()
    {
        _ps.Run("$s = New-CimSession; Remove-CimSession $s");
        Assert.Empty(_ps.Run("Get-CimInstance -CimSession $s -ClassName Win32_OperatingSystem"));
        Assert.Equal(ErrorCategory.InvalidOperation, Assert.Single(_ps.Errors).CategoryInfo.Category);
    }

    [Fact]
    public void NewCimSessionOption_parameter_sets()
    {
        PSObject dcom = _ps.Run("New-CimSessionOption -Protocol Dcom").Single();
        Assert.Equal("RemoteSessions.DComSessionOptions", dcom.BaseObject.GetType().FullName);
        Assert.Equal(true, dcom.Properties["PacketPrivacy"].Value);

        PSObject wsman = _ps.Run("New-CimSessionOption -UseSsl -SkipCACheck -SkipCNCheck -MaxEnvelopeSizeKB 500 -Culture de-DE").Single();
        Assert.Equal("RemoteSessions.WSManSessionOptions", wsman.BaseObject.GetType().FullName);
        Assert.Equal(true, wsman.Properties["UseSsl"].Value);
        Assert.Equal(false, wsman.Properties["CertCACheck"].Value);
        Assert.Equal(false, wsman.Properties["CertCNCheck"].Value);
        Assert.Equal(true, wsman.Properties["CertRevocationCheck"].Value);
        Assert.Equal(500u, wsman.Properties["MaxEnvelopeSize"].Value);
        Assert.Equal("de-DE", wsman.Properties["Culture"].Value.ToString());

        Assert.Equal("RemoteSessions.WSManSessionOptions", _ps.Run("New-CimSessionOption -Protocol Default").Single().BaseObject.GetType().FullName);
    }

    [Fact]
    public void CimSession_renders_as_windows_list()
    {
        string text = _ps.Format("New-CimSession -Name web");
        foreach (string label in new[] { "Id           : 1", "Name         : web", "InstanceId   :", "ComputerName : localhost", "Protocol     : Local" })
            Assert.Contains(label, text);
    }
}
