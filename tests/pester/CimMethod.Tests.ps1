# Invoke-CimMethod as a user runs it: static methods by class name and by resource URI, and methods checked
# and typed by a class declaration from Get-CimClass, over WS-Management to the replay server
# (tests/replay-server); the local provider's read-only answer.
BeforeAll { . $PSScriptRoot/CimSuite.ps1 }

AfterAll { Stop-CimSuite $replay }

Describe 'Invoke-CimMethod over WS-Management' {
    BeforeAll {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
        # The synthetic XYZ_Number declares static `string Spell([In] uint64 num, [Out] uint8 digits[])`.
        $n = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SkipTestConnection `
            -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix 'wsman?synthetic=10')
    }
    BeforeEach { Clear-ReplayRequests $replay }

    It 'calls a static method by class name' {
        $spell = Invoke-CimMethod -CimSession $s -Namespace root/test -ClassName X_SmallNumber -MethodName SpellNumber -Arguments @{ num = [uint16]42 }
        $spell.ReturnValue | Should -Be 'forty two'
        $spell.PSComputerName | Should -Be '127.0.0.1'
        $spell.PSObject.TypeNames[0] | Should -Be 'Microsoft.Management.Infrastructure.CimMethodResult#X_SmallNumber#SpellNumber'
        Get-ReplayRequests $replay | Should -Contain 'invoke-static SpellNumber X_SmallNumber'
    }

    It 'calls a static method by resource URI' {
        $spell = Invoke-CimMethod -CimSession $s -ResourceUri http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/X_SmallNumber `
            -Namespace root/test -MethodName SpellNumber -Arguments @{ num = [uint16]42 }
        $spell.ReturnValue | Should -Be 'forty two'
    }

    It 'converts the arguments to the declared types of a class from Get-CimClass' {
        $c = Get-CimClass -CimSession $n -Namespace root/test -ClassName XYZ_Number
        $c.CimClassMethods['Spell'].Parameters.Name | Should -Be @('num', 'digits')
        # '0x2A' is sent as the declared uint64 42.
        $spelled = $c | Invoke-CimMethod -MethodName Spell -Arguments @{ num = '0x2A' }
        $spelled.ReturnValue | Should -Be 'four two'
        $spelled.digits | Should -Be @(4, 2)
        $spelled.PSComputerName | Should -Be '127.0.0.1'
    }

    It 'stops on a method the class does not declare, as on Windows' {
        $c = Get-CimClass -CimSession $n -Namespace root/test -ClassName XYZ_Number
        { Invoke-CimMethod -CimClass $c -MethodName Nope -Arguments @{ n = 1 } } |
            Should -Throw -ErrorId 'System.ArgumentException,Microsoft.Management.Infrastructure.CimCmdlets.InvokeCimMethodCommand' -ExpectedMessage "Can not find method 'Nope' in class 'XYZ_Number'."
        { Invoke-CimMethod -CimClass $c -MethodName Spell -Arguments @{ count = 1 } } |
            Should -Throw -ExpectedMessage "Can not find Parameter 'count' in method 'Spell' of class 'XYZ_Number'."
    }
}

Describe 'Invoke-CimMethod on this machine' {
    It 'refuses to run methods of the read-only provider' {
        Invoke-CimMethod -ClassName Win32_OperatingSystem -MethodName Reboot -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'MetadataError'
    }
}
