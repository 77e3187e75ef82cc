using System.Management.Automation;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>The module as a whole: manifest, aliases, help, completion, unload and re-import.</summary>
public sealed class ModuleTests : IDisposable
{
    private readonly PowerShellRunner _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Exports_cmdlets_and_aliases()
    {
        var names = _ps.Run("(Get-Module RemoteSessions).ExportedCmdlets.Keys").Select(o => (string)o.BaseObject).Order().ToArray();
        Assert.Equal(new[]
        {
            "Connect-PSSession", "Disconnect-PSSession", "Enter-PSSession", "Get-CimAssociatedInstance", "Get-CimClass", "Get-CimInstance", "Get-CimSession",
            "Get-PSSession", "Invoke-CimMethod", "Invoke-Command", "New-CimInstance", "New-CimSession", "New-CimSessionOption", "New-PSSession", "New-PSSessionOption",
            "Receive-PSSession", "Remove-CimInstance", "Remove-CimSession", "Remove-PSSession", "Set-CimInstance",
        }, names);
        foreach ((string alias, string target) in new[] { ("ncms", "New-CimSession"), ("gcms", "Get-CimSession"), ("rcms", "Remove-CimSession"), ("ncso", "New-CimSessionOption"), ("gcim", "Get-CimInstance"), ("icim", "Invoke-CimMethod"), ("ncim", "New-CimInstance"), ("scim", "Set-CimInstance"), ("rcim", "Remove-CimInstance"), ("gcls", "Get-CimClass"), ("gcai", "Get-CimAssociatedInstance") })
            Assert.Equal(target, _ps.Run($"(Get-Command {alias}).ResolvedCommandName").Single().BaseObject);
    }

    [Fact]
    public void Remove_and_import_again()
    {
        _ps.Run("New-CimSession -Name before");
        _ps.Run("Remove-Module RemoteSessions");
        Assert.Empty(_ps.Run("Get-Module RemoteSessions"));
        _ps.Run($"Import-Module '{Paths.ModuleManifest}' -ErrorAction Stop");
        Assert.Empty(_ps.Errors);
        PSObject s = _ps.Run("New-CimSession").Single();
        Assert.Equal(1u, s.Properties["Id"].Value);
        Assert.Single(_ps.Run("Get-CimInstance -CimSession (Get-CimSession -Id 1) Win32_OperatingSystem"));
    }

    [Theory]
    [InlineData("New-CimSession")]
    [InlineData("Get-CimSession")]
    [InlineData("Remove-CimSession")]
    [InlineData("New-CimSessionOption")]
    [InlineData("Get-CimInstance")]
    [InlineData("Invoke-CimMethod")]
    [InlineData("New-CimInstance")]
    [InlineData("Set-CimInstance")]
    [InlineData("Remove-CimInstance")]
    [InlineData("Get-CimClass")]
    [InlineData("Get-CimAssociatedInstance")]
    [InlineData("New-PSSession")]
    public void Every_cmdlet_has_help_with_examples(string cmdlet)
    {
        PSObject help = _ps.Run($"Get-Help {cmdlet} -Full").Single();
        Assert.NotEmpty(_ps.Run($"(Get-Help {cmdlet}).Synopsis").Single().ToString()!.Trim());
        Assert.NotEmpty(_ps.Run($"@((Get-Help {cmdlet}).examples.example)"));
        Assert.NotNull(help);
    }

    [Fact]
    public void Completes_session_names_ids_and_class_names()
    {
        _ps.Run("New-CimSession -Name alpha; New-CimSession -Name beta");
        string[] Complete(string line) => _ps.Run($"(TabExpansion2 -inputScript '{line}' -cursorColumn {line.Length}).CompletionMatches.CompletionText")
            .Select(o => (string)o.BaseObject).ToArray();
        Assert.Equal(new[] { "alpha" }, Complete("Get-CimSession -Name al"));
        Assert.Equal(new[] { "1", "2" }, Complete("Get-CimSession -Id "));
        Assert.Contains("Win32_OperatingSystem", Complete("Get-CimInstance -ClassName Win32_Op"));
    }
}
