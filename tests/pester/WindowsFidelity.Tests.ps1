# What scripts and Pester suites written against Windows' CimCmdlets check, checked the same way here
# (issue "drop-in fidelity"): error ids with -ErrorId as Windows builds them (the errorId, then the cmdlet
# type's full name), Get-CimClass's "Not found", the instance methods scripts route follow-up calls with,
# "." as this computer, and the [CimInstance]-style type accelerators.
BeforeAll { . $PSScriptRoot/CimSuite.ps1 }

AfterAll { Stop-CimSuite $replay }

Describe 'Windows CimCmdlets fidelity' {
    BeforeEach { Get-CimSession | Remove-CimSession }

    It 'builds error ids from the CimCmdlets type names' {
        { Get-CimInstance -ClassName Win32_Nothing -ErrorAction Stop } |
            Should -Throw -ErrorId 'HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'
        { Get-CimInstance -ClassName Win32_OperatingSystem -Namespace root/nothing -ErrorAction Stop } |
            Should -Throw -ErrorId 'HRESULT 0x8004100e,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'
        (Get-Command Get-CimInstance).ImplementingType.FullName | Should -Be 'Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'
    }

    It 'says "Not found" for a class Get-CimClass does not know, as Windows does' {
        { Get-CimClass -ClassName Win32_Nothing -ErrorAction Stop } |
            Should -Throw -ErrorId 'HRESULT 0x80041002,Microsoft.Management.Infrastructure.CimCmdlets.GetCimClassCommand'
        Get-CimClass -ClassName Win32_Nothing -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        # A wildcard that matches nothing is no error.
        Get-CimClass -ClassName Win32_Nothing* -ErrorVariable none | Should -BeNullOrEmpty
        $none | Should -BeNullOrEmpty
    }

    It 'tells the session an instance came from' {
        $s = New-CimSession -Name fidelity
        $os = Get-CimInstance -CimSession $s -ClassName Win32_OperatingSystem
        $os.GetCimSessionInstanceId() | Should -Be $s.InstanceId
        $os.GetCimSessionComputerName() | Should -Be $s.ComputerName
        (Get-CimSession -InstanceId $os.GetCimSessionInstanceId()).Name | Should -Be 'fidelity'

        $wsman = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
        $id = Get-CimInstance -CimSession $wsman -Namespace root/omi -ClassName OMI_Identify
        $id.GetCimSessionInstanceId() | Should -Be $wsman.InstanceId
        $id.GetCimSessionComputerName() | Should -Be '127.0.0.1'

        # Ad hoc: the temporary session's id, which no longer exists.
        $adhoc = Get-CimInstance -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http -Namespace root/omi -ClassName OMI_Identify
        $adhoc.GetCimSessionInstanceId() | Should -Not -Be ([guid]::Empty)
        $adhoc.GetCimSessionComputerName() | Should -Be '127.0.0.1'

        $mine = New-CimInstance -ClassName Win32_Environment -Property @{ Name = 'x' } -ClientOnly
        $mine.GetCimSessionInstanceId() | Should -Be ([guid]::Empty)
        $mine.GetCimSessionComputerName() | Should -BeNullOrEmpty
    }

    It 'gives the PSSession cmdlets'' errors the built-in cmdlets'' exact ids, exceptions and categories' {
        # Exact ids (Should -Throw -ErrorId would also take a suffixed id). PSSessionOpenFailed comes
        # without ",<command type>" as pwsh's own New-PSSession writes it, through the engine internal
        # that module/EngineInternals.cs pins to this pwsh.
        $e = $null
        try { New-PSSession -HostName no-such-host.invalid -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'PSSessionOpenFailed'
        $e.Exception | Should -BeOfType ([System.Management.Automation.Remoting.PSRemotingTransportException])
        $e.CategoryInfo.Category | Should -Be 'OpenError'
        $e.TargetObject | Should -Be 'no-such-host.invalid'
        $e = $null
        try { Get-PSSession -Id 987654 -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'RemoteRunspaceNotAvailableForSpecifiedSessionId,Microsoft.PowerShell.Commands.GetPSSessionCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e = $null
        try { Remove-PSSession -Id 987654 -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'RemoteRunspaceNotAvailableForSpecifiedSessionId,Microsoft.PowerShell.Commands.RemovePSSessionCommand'
    }

    It 'declares CIM_Error and answers discovery by class, method and property names as Windows does' {
        $e = Get-CimClass -ClassName CIM_Error
        $e.CimClassName | Should -BeExactly 'CIM_Error'
        $e.CimClassProperties.Name | Should -Contain 'CIMStatusCode'
        $e.CimClassProperties['MessageArguments'].CimType | Should -Be 'StringArray'
        @(Get-CimInstance -ClassName CIM_Error).Count | Should -Be 0
        (Get-CimClass -ClassName *Process*).CimClassName | Should -Contain 'Win32_Process'
        (Get-CimClass -MethodName Terminate).CimClassName | Should -Be 'Win32_Process'
        (Get-CimClass -PropertyName CIMStatusCode).CimClassName | Should -Be 'CIM_Error'
        (Get-CimClass Win32_Process).CimClassMethods['GetOwner'].Parameters.Name | Should -Be @('User', 'Domain')
    }

    It 'runs Win32_Process''s Terminate and GetOwner as Windows scripts call them' {
        $owner = Get-CimInstance Win32_Process -Filter "ProcessId = $PID" | Invoke-CimMethod -MethodName GetOwner
        $owner.ReturnValue | Should -Be 0
        $owner.User | Should -BeExactly ([Environment]::UserName)
        $owner.Domain | Should -BeExactly ([Environment]::MachineName)
        $sleeper = Start-Process sleep -ArgumentList 60 -PassThru
        $result = Invoke-CimMethod -Query "SELECT * FROM Win32_Process WHERE ProcessId = $($sleeper.Id)" -MethodName Terminate
        $result.ReturnValue | Should -Be 0
        $sleeper.WaitForExit(10000) | Should -BeTrue
        # WMI's text for WBEM_E_INVALID_METHOD; the provider's detail (naming the method) is shown.
        Invoke-CimMethod -ClassName Win32_Process -MethodName Nope -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].Exception.Message | Should -BeExactly 'Invalid method '
        $e[0].ErrorDetails.Message | Should -BeLike '*Nope*'
    }

    It 'serves -ComputerName . on this computer' {
        $os = Get-CimInstance -ComputerName . -ClassName Win32_OperatingSystem
        @($os).Count | Should -Be 1
        $os.Caption | Should -Not -BeNullOrEmpty
        $s = New-CimSession -ComputerName .
        $s.Protocol | Should -Be 'Local'
        @(Get-CimInstance -CimSession $s -ClassName Win32_OperatingSystem).Count | Should -Be 1
    }

    It 'lets [CimInstance], [CimSession], [CimClass] and [CimType] in scripts name the module''s types, and puts PowerShell''s back on Remove-Module' {
        # In a new pwsh: a script written for Windows, compiled after the import (as a .ps1 file run then
        # is), with [CimInstance] resolved once before the import too. This also pins the engine internals
        # the module changes (module/TypeAccelerators.cs) to this pwsh.
        $script = @'
. ([scriptblock]::Create('[CimInstance].FullName'))
Import-Module '{0}'
. ([scriptblock]::Create(@"
function Get-Caption {{ param([Parameter(Mandatory, ValueFromPipeline)] [CimInstance[]] `$InputObject) process {{ `$InputObject.Caption }} }}
`$os = Get-CimInstance -ClassName Win32_OperatingSystem
[bool](`$os | Get-Caption)
`$os -is [CimInstance]
(New-CimSession) -is [CimSession]
(Get-CimClass -ClassName Win32_OperatingSystem) -is [CimClass]
[CimType]::String -eq (Get-CimClass Win32_OperatingSystem).CimClassProperties['Caption'].CimType
[CimInstance].FullName
"@))
Remove-Module RemoteSessions
. ([scriptblock]::Create('[CimInstance].FullName'))
'@ -f (Get-ModuleManifest)
        $out = & (Get-PwshPath) -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { "$_" }
        $out | Should -Be @(
            'Microsoft.Management.Infrastructure.CimInstance',
            'True', 'True', 'True', 'True', 'True',
            'RemoteSessions.CimInstance',
            'Microsoft.Management.Infrastructure.CimInstance'
        )
    }
}
