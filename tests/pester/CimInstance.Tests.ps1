# Get-CimInstance, New-CimInstance, Set-CimInstance and Remove-CimInstance as a user runs them: against this
# machine's provider, and over WS-Management to the replay server (tests/replay-server), which answers
# only requests that match recorded OMI traffic, so each answer also proves the request was right.
BeforeAll { . $PSScriptRoot/CimSuite.ps1 }

AfterAll { Stop-CimSuite $replay }

Describe 'Get-CimInstance' {
    It 'reads the operating system' {
        $os = Get-CimInstance -ClassName Win32_OperatingSystem
        $os.CSName | Should -Be ((Get-Content /proc/sys/kernel/hostname).Trim())
        $os.PSObject.TypeNames[0] | Should -Be 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_OperatingSystem'
        $os.LastBootUpTime | Should -BeOfType [datetime]
    }

    It 'filters processes in the provider' {
        $me = Get-CimInstance -ClassName CIM_Process -Filter "ProcessId = $PID" -Property Name, ProcessId
        $me.ProcessId | Should -Be $PID
        $me.PSObject.TypeNames[0] | Should -Be 'Microsoft.Management.Infrastructure.CimInstance#__PartialCIMInstance'
    }

    It 'gives the Windows error for an unknown class' {
        Get-CimInstance -ClassName No_Such_Class -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'HRESULT 0x80041010,*'
    }

    It 'answers a WQL query on a session and formats with the engine''s Win32 view' {
        $s = New-CimSession
        $mine = Get-CimInstance -CimSession $s -Query "SELECT * FROM Win32_Process WHERE ProcessId = $PID"
        $mine.ProcessId | Should -Be $PID
        $mine.PSComputerName | Should -Be 'localhost'
        # The engine's own DefaultDisplayPropertySet for Win32_Process (from Windows) shapes the table.
        ($mine | Out-String) | Should -Match 'ProcessId\s+Name\s+HandleCount\s+WorkingSetSize\s+VirtualSize'
        Remove-CimSession $s
    }
}

Describe 'Get-CimInstance over WS-Management' {
    BeforeAll {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
    }
    BeforeEach { Clear-ReplayRequests $replay }

    It 'enumerates a class and names the computer on each instance' {
        $id = Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify
        @($id).Count | Should -Be 1
        $id.ProductName | Should -Be 'OMI'
        $id.PSComputerName | Should -Be '127.0.0.1'
        $id.PSObject.TypeNames | Should -Contain 'Microsoft.Management.Infrastructure.CimInstance#root/omi/OMI_Identify'
        Get-ReplayRequests $replay | Should -Contain 'enumerate Enumerate OMI_Identify'
    }

    It 'runs a WQL query and types the values from the class declaration' {
        $james = Get-CimInstance -CimSession $s -Query "SELECT Key,Last FROM MSFT_President WHERE First = 'James'"
        $james.Last | Should -Be @('Madison', 'Monroe')
        $james.Key | Should -Be @(4, 5)
        $james[0].Key | Should -BeOfType [uint32]
        (Get-ReplayRequests $replay) -like 'getclass *' | Should -Not -BeNullOrEmpty
    }

    It 'reads one instance again with Get, through the pipeline' {
        $third = New-CimInstance -ClassName MSFT_President -Property @{ Key = [uint32]3 } -Key Key -ClientOnly |
            Get-CimInstance -CimSession $s
        $third.Last | Should -Be 'Jefferson'
        ($third | Get-CimInstance).Last | Should -Be 'Jefferson'
    }

    It 'runs ad hoc with -ComputerName and leaves no session behind' {
        $before = @(Get-CimSession).Count
        $id = Get-CimInstance -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http -Namespace root/omi -ClassName OMI_Identify
        $id.PSComputerName | Should -Be '127.0.0.1'
        @(Get-CimSession).Count | Should -Be $before
    }

    It 'turns a server fault into an error with the CIM status in its id' {
        $faulty = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SkipTestConnection `
            -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix misbehave/fault500/wsman)
        Get-CimInstance -CimSession $faulty -Namespace root/omi -ClassName OMI_Identify -ErrorVariable e -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Be 'HRESULT 0x80041002,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e[0].OriginInfo.PSComputerName | Should -Be '127.0.0.1'
        Get-Shown $e[0] | Should -Match 'CIM status 6'
        Remove-CimSession $faulty
    }

    It 'stops with -ErrorAction Stop on a fault, as a script relies on' {
        $faulty = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SkipTestConnection `
            -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix misbehave/fault500/wsman)
        { Get-CimInstance -CimSession $faulty -Namespace root/omi -ClassName OMI_Identify -ErrorAction Stop } |
            Should -Throw -ErrorId 'HRESULT 0x80041002,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'
        Remove-CimSession $faulty
    }
}

Describe 'New-, Set- and Remove-CimInstance over WS-Management' {
    BeforeAll {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
    }
    BeforeEach { Clear-ReplayRequests $replay }

    It 'creates an instance on the server' {
        $grace = New-CimInstance -CimSession $s -ClassName MSFT_Person -Property ([ordered]@{ Key = [uint32]8; First = 'Grace'; Last = 'Hopper' })
        $grace.Last | Should -Be 'Hopper'
        $grace.PSComputerName | Should -Be '127.0.0.1'
        (Get-ReplayRequests $replay) -like '* Create MSFT_Person' | Should -Not -BeNullOrEmpty
    }

    It 'changes an instance and passes it on' {
        $changed = New-CimInstance -ClassName MSFT_Person -Property ([ordered]@{ Key = [uint32]1234; First = 'X' }) -Key Key -ClientOnly |
            Set-CimInstance -CimSession $s -PassThru
        $changed.First | Should -Be 'X'
        (Get-ReplayRequests $replay) -like '* Put MSFT_Person' | Should -Not -BeNullOrEmpty
    }

    It 'deletes nothing with -WhatIf and deletes without it' {
        $nine = New-CimInstance -ClassName MSFT_Person -Property @{ Key = [uint32]9 } -Key Key -ClientOnly
        $nine | Remove-CimInstance -CimSession $s -WhatIf
        (Get-ReplayRequests $replay) -like '* Delete *' | Should -BeNullOrEmpty
        $nine | Remove-CimInstance -CimSession $s -ErrorAction Stop
        (Get-ReplayRequests $replay) -like '* Delete MSFT_Person' | Should -Not -BeNullOrEmpty
    }

    It 'refuses to change this machine''s read-only provider' {
        Get-CimInstance Win32_OperatingSystem | Remove-CimInstance -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'NotImplemented'
    }
}
