# New-CimSession, Get-CimSession, Remove-CimSession and New-CimSessionOption as a user runs them: local
# sessions, and WS-Management sessions to the replay server (tests/replay-server), which answers only
# requests that match recorded OMI traffic.
BeforeAll { . $PSScriptRoot/CimSuite.ps1 }

AfterAll { Stop-CimSuite $replay }

Describe 'CIM sessions' {
    BeforeEach { Get-CimSession | Remove-CimSession }

    It 'creates local sessions with Windows defaults' {
        $s = New-CimSession
        $s.Name | Should -Be "CimSession$($s.Id)"
        $s.ComputerName | Should -Be 'localhost'
        $s.Protocol | Should -Be 'Local'
        (New-CimSession -Name web).Id | Should -Be ($s.Id + 1)
    }

    It 'looks sessions up and reports misses like Windows' {
        $s = New-CimSession -Name web
        (Get-CimSession -Name WE*).InstanceId | Should -Be $s.InstanceId
        (Get-CimSession -ComputerName LOCALHOST).Count | Should -BeGreaterOrEqual 1
        Get-CimSession -Id 999 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].Exception.Message | Should -Be 'Could not find CimSession with the given Id = 999'
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'removes sessions, honouring -WhatIf' {
        New-CimSession -Name a | Out-Null
        Get-CimSession | Remove-CimSession -WhatIf
        @(Get-CimSession).Count | Should -Be 1
        Remove-CimSession -Name a
        Get-CimSession | Should -BeNullOrEmpty
    }

    It 'says DCOM is not available for a remote computer' {
        New-CimSession -SessionOption (New-CimSessionOption -Protocol Dcom) -ComputerName otherhost -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'DcomNotAvailable,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand'
    }
}

Describe 'Remove-CimSession -WhatIf in a pwsh of its own' {
    It 'tells the user what it would remove and removes nothing' {
        # -WhatIf talks to the host, not to a stream, so a child pwsh's console output is what a user reads.
        $script = "Import-Module '$(Get-ModuleManifest)'; `$null = New-CimSession -Name demo; " +
            "Get-CimSession | Remove-CimSession -WhatIf; 'left: ' + (Get-CimSession).Name"
        $out = & (Get-PwshPath) -NoLogo -NoProfile -NonInteractive -Command $script
        $LASTEXITCODE | Should -Be 0
        $out | Should -Contain 'left: demo'
        $out -join "`n" | Should -Match 'What if: Performing the operation "Remove CimSession" on target "CimSession id = 1, name = demo, ComputerName = localhost'
    }
}

Describe 'CIM sessions over WS-Management' {
    BeforeEach {
        Get-CimSession | Remove-CimSession
        Clear-ReplayRequests $replay
    }

    It 'opens a Basic session over HTTP, tested with Identify' {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
        $s.Protocol | Should -Be 'WSMAN'
        $s.ComputerName | Should -Be '127.0.0.1'
        $s.Name | Should -Be "CimSession$($s.Id)"
        Get-ReplayRequests $replay | Should -Be @('identify - -')
    }

    It 'sends nothing before first use with -SkipTestConnection' {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http -SkipTestConnection
        $s.Protocol | Should -Be 'WSMAN'
        Get-ReplayRequests $replay | Should -BeNullOrEmpty
    }

    It 'finds WS-Management sessions by computer name and removes them' {
        New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http -Name remote | Out-Null
        New-CimSession -Name here | Out-Null
        (Get-CimSession -ComputerName 127.0.0.1).Name | Should -Be 'remote'
        Remove-CimSession -ComputerName 127.0.0.1 -WhatIf
        @(Get-CimSession).Count | Should -Be 2
        Remove-CimSession -ComputerName 127.0.0.1
        (Get-CimSession).Name | Should -Be 'here'
    }

    It 'refuses a wrong password as access denied, without showing it and without a session' {
        $bad = [pscredential]::new($replay.User, [Net.NetworkCredential]::new('', 'not-the-password').SecurePassword)
        New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $bad -Authentication Basic -SessionOption $http `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Be 'HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand'
        $e[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $e[0].OriginInfo.PSComputerName | Should -Be '127.0.0.1'
        Get-Shown $e[0] | Should -Match '127\.0\.0\.1'
        "$(Get-Shown $e[0]) $($e[0].Exception)" | Should -Not -Match 'not-the-password'
        Get-CimSession | Should -BeNullOrEmpty
    }

    It 'asks for -NoEncryption before sending Basic over plain HTTP' {
        New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-Shown $e[0] | Should -Match '-NoEncryption'
        Get-ReplayRequests $replay | Should -BeNullOrEmpty
    }

    It 'reports a port nobody listens on as a connection error' {
        New-CimSession -ComputerName 127.0.0.1 -Port (Get-FreePort) -Credential $cred -Authentication Basic -SessionOption $http -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'HRESULT 0x80338012,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand'
        $e[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        Get-Shown $e[0] | Should -Match 'refused'
    }
}
