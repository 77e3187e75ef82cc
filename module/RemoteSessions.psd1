@{
    RootModule           = 'RemoteSessions.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '4f0f4d4e-9a3c-4c51-8f5d-2b7f0c6a1e93'
    Author               = 'RemoteSessions developers'
    CompanyName          = 'RemoteSessions'
    Copyright            = '(c) RemoteSessions developers. MIT licence.'
    Description          = 'CIM sessions and CIM cmdlets for PowerShell 7 on Linux and macOS: New-/Get-/Remove-CimSession, New-CimSessionOption, Get-CimInstance, Invoke-CimMethod, New-/Set-/Remove-CimInstance, Get-CimClass and Get-CimAssociatedInstance, locally and over WS-Management, and New-PSSession over WS-Management (WinRM), a local PowerShell process or SSH, backed by a Rust core.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.6'
    CmdletsToExport      = @(
        'New-CimSession'
        'Get-CimSession'
        'Remove-CimSession'
        'New-CimSessionOption'
        'Get-CimInstance'
        'Invoke-CimMethod'
        'New-CimInstance'
        'Set-CimInstance'
        'Remove-CimInstance'
        'Get-CimClass'
        'Get-CimAssociatedInstance'
        'New-PSSession'
        'New-PSSessionOption'
        'Disconnect-PSSession'
        'Connect-PSSession'
        'Get-PSSession'
        'Receive-PSSession'
        'Remove-PSSession'
        'Invoke-Command'
        'Enter-PSSession'
    )
    AliasesToExport      = @('ncms', 'gcms', 'rcms', 'ncso', 'gcim', 'icim', 'ncim', 'scim', 'rcim', 'gcls', 'gcai')
    FunctionsToExport    = @()
    VariablesToExport    = @()
    FormatsToProcess     = @('RemoteSessions.format.ps1xml')
    PrivateData          = @{
        PSData = @{
            Tags       = @('CIM', 'WMI', 'WSMan', 'Linux', 'macOS', 'Remoting')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
