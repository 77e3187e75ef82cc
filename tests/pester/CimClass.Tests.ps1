# Get-CimClass and Get-CimAssociatedInstance as a user runs them: against this machine's provider, and
# over WS-Management to the replay server (tests/replay-server), which answers only requests that match
# recorded OMI traffic or its synthetic XYZ_Number classes.
BeforeAll { . $PSScriptRoot/CimSuite.ps1 }

AfterAll { Stop-CimSuite $replay }

Describe 'Get-CimClass and Get-CimAssociatedInstance' {
    It 'declares a class with its keys and renders the class table' {
        $c = Get-CimClass Win32_Process
        $c.CimSuperClassName | Should -Be 'CIM_Process'
        $c.CimClassProperties['Handle'].Flags.HasFlag([RemoteSessions.CimFlags]::Key) | Should -BeTrue
        ($c | Out-String) | Should -Match 'NameSpace: root/cimv2'
    }

    It 'filters classes by property name' {
        (Get-CimClass -PropertyName ProcessId).CimClassName | Should -Contain 'Win32_Process'
    }

    It 'finds no associations in the local provider' {
        Get-CimInstance Win32_OperatingSystem | Get-CimAssociatedInstance | Should -BeNullOrEmpty
    }

    It 'lists classes by wildcard' {
        $names = (Get-CimClass -ClassName Win32_*).CimClassName
        $names | Should -Contain 'Win32_OperatingSystem'
        $names | Should -Contain 'Win32_Service'
        $names | Where-Object { $_ -notlike 'Win32_*' } | Should -BeNullOrEmpty
    }
}

Describe 'Get-CimClass over WS-Management' {
    BeforeAll {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
    }
    BeforeEach { Clear-ReplayRequests $replay }

    It 'reads the server''s declaration of a class' {
        $c = Get-CimClass -CimSession $s -ClassName MSFT_President
        Get-ReplayRequests $replay | Should -Be @('getclass Get *')
        $c.PSObject.TypeNames[0] | Should -Be 'Microsoft.Management.Infrastructure.CimClass#root/cimv2/MSFT_President'
        $c.PSComputerName | Should -Be '127.0.0.1'
        $c.CimClassName | Should -Be 'MSFT_President'
        $c.CimClassProperties.Name | Should -Be @('Key', 'First', 'Last')
        $c.CimClassProperties['key'].CimType | Should -Be 'UInt32'
        "$c" | Should -Be 'root/cimv2:MSFT_President'
    }

    It 'filters the declaration by property name' {
        Get-CimClass -CimSession $s -ClassName MSFT_President -PropertyName Nope | Should -BeNullOrEmpty
        @(Get-CimClass -CimSession $s -ClassName MSFT_President -PropertyName F*).Count | Should -Be 1
    }

    It 'reports a server that refuses to list classes as one error naming the computer' {
        Get-CimClass -CimSession $s -ClassName MSFT_* -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].OriginInfo.PSComputerName | Should -Be '127.0.0.1'
    }
}

Describe 'Get-CimAssociatedInstance over WS-Management' {
    BeforeAll {
        # The replay server's synthetic XYZ_Number k is associated with k - 1 and k + 1.
        $n = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SkipTestConnection `
            -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix 'wsman?synthetic=10')
        $five = New-CimInstance -ClassName XYZ_Number -Namespace root/test -Property @{ Number = [uint32]5 } -Key Number -ClientOnly
    }

    It 'follows an association from an instance in the pipeline' {
        $both = $five | Get-CimAssociatedInstance -CimSession $n -Association XYZ_NumberNeighbors
        $both.Number | ForEach-Object ToString | Should -Be @('4', '6')
        $both.PSComputerName | Select-Object -Unique | Should -Be '127.0.0.1'
        $both[0].PSObject.TypeNames | Should -Contain 'Microsoft.Management.Infrastructure.CimInstance#root/test/XYZ_Number'
    }
}
