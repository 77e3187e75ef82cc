# New-PSSession -ComputerName/-ConnectionUri over WS-Management (WinRS), Disconnect-PSSession,
# Connect-PSSession, Get-PSSession -ComputerName and New-PSSessionOption, as a user runs them, against
# tests/wsman-endpoint: PowerShell's own server side of WS-Man remoting (the WSMan plugin wsmprovhost runs
# on Windows) behind a loopback WinRS listener with Basic authentication, started by this file on
# OS-chosen ports. Built by tests/build.sh.
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1
    Import-Module (Get-ModuleManifest) -Force -ErrorAction Stop
    $ep = Start-WsmanEndpoint
    $noEncryption = New-PSSessionOption -NoEncryption
    $skipChecks = New-PSSessionOption -SkipCACheck -SkipCNCheck
    # What -ComputerName sessions and queries of this endpoint take: Basic over HTTP, allowed by -NoEncryption.
    $http = @{ ComputerName = '127.0.0.1'; Port = $ep.Port; Credential = $ep.Credential; Authentication = 'Basic'; SessionOption = $noEncryption }

    # What Get-PSSession -ComputerName shows in a second pwsh (a client of its own), one line per
    # session: Name|InstanceId|State|Availability|ConfigurationName|Transport|ComputerName. The password
    # goes by environment, not command line.
    function Get-SessionsFromOtherPwsh {
        $script = @'
Import-Module $env:RSESS_TEST_MODULE -ErrorAction Stop
$c = [pscredential]::new($env:RSESS_TEST_USER, (ConvertTo-SecureString $env:RSESS_TEST_PASSWORD -AsPlainText -Force))
Get-PSSession -ComputerName 127.0.0.1 -Port $env:RSESS_TEST_PORT -Credential $c -Authentication Basic -SessionOption (New-PSSessionOption -NoEncryption) |
    ForEach-Object { '{0}|{1}|{2}|{3}|{4}|{5}|{6}' -f $_.Name, $_.InstanceId, $_.State, $_.Availability, $_.ConfigurationName, $_.Transport, $_.ComputerName }
'@
        $env:RSESS_TEST_MODULE = Get-ModuleManifest
        $env:RSESS_TEST_USER = $ep.User
        $env:RSESS_TEST_PASSWORD = $ep.Password
        $env:RSESS_TEST_PORT = $ep.Port
        try {
            & (Get-PwshPath) -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { "$_" }
        } finally {
            Remove-Item env:RSESS_TEST_MODULE, env:RSESS_TEST_USER, env:RSESS_TEST_PASSWORD, env:RSESS_TEST_PORT
        }
    }

    # Every session of this runspace back to Opened (so it can be closed), then removed.
    function Clear-Sessions {
        Get-PSSession | Where-Object State -EQ 'Disconnected' | Connect-PSSession -ErrorAction SilentlyContinue | Out-Null
        Get-PSSession | Remove-PSSession
    }

    # What Invoke-Command says of a session it cannot use: Session (the error about that session) and
    # Terminating (the error that ends the command, as it has no usable session left).
    function Get-InvokeRefusal($Session) {
        $terminating = $null
        try { Invoke-Command -Session $Session { 1 } -ErrorVariable e -ErrorAction SilentlyContinue } catch { $terminating = $_ }
        [pscustomobject]@{ Session = $e[0]; Terminating = $terminating }
    }

    # The endpoint's shells this user has, as "Name|State" lines, from the server.
    function Get-ServerShells {
        @(Get-PSSession @http | ForEach-Object { "$($_.Name)|$($_.State)" })
    }
}

AfterAll {
    Clear-Sessions
    Stop-WsmanEndpoint $ep
    Remove-Module RemoteSessions -ErrorAction SilentlyContinue
}

Describe 'New-PSSession over WS-Management' {
    AfterEach { Clear-Sessions }

    It 'opens with -ComputerName and Basic over HTTP with -NoEncryption, and keeps state between commands' {
        $s = New-PSSession @http -Name web
        $s.State | Should -Be 'Opened'
        $s.Availability | Should -Be 'Available'
        $s.Transport | Should -BeExactly 'WSMan'
        $s.ConfigurationName | Should -BeExactly 'Microsoft.PowerShell'
        $s.ComputerName | Should -BeExactly '127.0.0.1'
        $s.ComputerType | Should -Be 'RemoteMachine'
        $s.Name | Should -BeExactly 'web'
        $s.Runspace.GetType().FullName | Should -Be 'System.Management.Automation.RemoteRunspace'
        Invoke-Command -Session $s { $x = 41 }
        Invoke-Command -Session $s { $x + 1 } | Should -Be 42
        # The shells run in the endpoint's pwsh (PowerShell's own plugin), not here.
        Invoke-Command -Session $s { $PID } | Should -Be $ep.Process.Id
        (Get-PSSession -Name web).InstanceId | Should -Be $s.InstanceId
    }

    It 'brings error and warning records back, turns a remote throw into a terminating error, and stops a running job' {
        $s = New-PSSession @http -Name streams
        # (pwsh shows a remote warning on the host whatever -WarningAction says; its own NamedPipe sessions too.)
        $out = Invoke-Command -Session $s { Write-Error 'remote error'; Write-Warning 'remote warning'; 'out' } -ErrorVariable ev -WarningVariable wv -ErrorAction SilentlyContinue
        $out | Should -Be 'out'
        $ev[0].Exception.Message | Should -Be 'remote error'
        $ev[0].OriginInfo.PSComputerName | Should -Be '127.0.0.1'
        $ev[0].OriginInfo.RunspaceID | Should -Be $s.InstanceId
        $wv[0].Message | Should -Be 'remote warning'
        { Invoke-Command -Session $s { throw 'remote failure' } -ErrorAction Stop } | Should -Throw -ExpectedMessage 'remote failure'
        $s.State | Should -Be 'Opened'
        $job = Invoke-Command -Session $s -AsJob { 'started'; Start-Sleep -Seconds 600 }
        Wait-Until { $job.ChildJobs[0].Output.Count -ge 1 } -Tries 300 | Should -BeTrue
        Stop-Job $job
        $job.State | Should -Be 'Stopped'
        $job | Remove-Job
        $s.State | Should -Be 'Opened'
        $s.Availability | Should -Be 'Available'
        (Invoke-Command -Session $s { 1..20000 }).Count | Should -Be 20000
    }

    It 'opens over HTTPS with -UseSSL and New-PSSessionOption -SkipCACheck -SkipCNCheck' {
        $s = New-PSSession -ComputerName 127.0.0.1 -Port $ep.HttpsPort -UseSSL -Credential $ep.Credential -Authentication Basic -SessionOption $skipChecks
        $s.State | Should -Be 'Opened'
        $s.Transport | Should -BeExactly 'WSMan'
        $s.ConfigurationName | Should -BeExactly 'Microsoft.PowerShell'
        Invoke-Command -Session $s { $y = 'tls' }
        Invoke-Command -Session $s { "over $y" } | Should -Be 'over tls'
    }

    It 'opens with -ConnectionUri <Uri>' -ForEach @(
        @{ Uri = 'http://127.0.0.1:{0}/wsman'; Https = $false }
        @{ Uri = 'https://127.0.0.1:{1}/wsman'; Https = $true }
    ) {
        $url = $Uri -f $ep.Port, $ep.HttpsPort
        $option = if ($Https) { $skipChecks } else { $noEncryption }
        $s = New-PSSession -ConnectionUri $url -Credential $ep.Credential -Authentication Basic -SessionOption $option
        $s.State | Should -Be 'Opened'
        $s.ComputerName | Should -BeExactly '127.0.0.1'
        $s.Transport | Should -BeExactly 'WSMan'
        $s.ConfigurationName | Should -BeExactly 'Microsoft.PowerShell'
        Invoke-Command -Session $s { $z = 6 }
        Invoke-Command -Session $s { $z * 7 } | Should -Be 42
    }

    It 'names the server''s shell with -Name, and Remove-PSSession deletes that shell' {
        $s = New-PSSession @http -Name named-shell
        $listed = @(Get-PSSession @http -Name named-shell)
        $listed.Count | Should -Be 1
        $listed[0].Name | Should -BeExactly 'named-shell'
        $listed[0].InstanceId | Should -Be $s.InstanceId
        $listed[0].State | Should -Be 'Opened'
        $listed[0].ConfigurationName | Should -BeExactly 'Microsoft.PowerShell'
        Get-ServerShells | Should -Contain 'named-shell|Opened'
        Remove-PSSession $s
        $s.State | Should -Be 'Closed'
        Get-PSSession @http -Name named-shell | Should -BeNullOrEmpty
        Get-ServerShells | Should -Not -Contain 'named-shell|Opened'
    }

    It 'opens one session per -ComputerName, named in order by -Name' {
        $two = New-PSSession -ComputerName 127.0.0.1, localhost -Port $ep.Port -Credential $ep.Credential -Authentication Basic -SessionOption $noEncryption -Name first, second
        $two.Name | Should -Be @('first', 'second')
        $two.ComputerName | Should -Be @('127.0.0.1', 'localhost')
        $two.State | Select-Object -Unique | Should -Be 'Opened'
        (Get-ServerShells | Sort-Object) | Should -Be @('first|Opened', 'second|Opened')
    }

    It 'renders as the PSSession table Windows prints' {
        New-PSSession @http -Name web | Out-Null
        $lines = (Get-PSSession -Name web | Format-Table | Out-String -Width 200).Split("`n") | ForEach-Object TrimEnd | Where-Object { $_ }
        $lines[0] | Should -BeExactly ' Id Name            Transport ComputerName    ComputerType    State         ConfigurationName     Availability'
        $lines[1] | Should -BeExactly ' -- ----            --------- ------------    ------------    -----         -----------------     ------------'
        $lines[2] | Should -Match '^ +\d+ web             WSMan     127\.0\.0\.1       RemoteMachine   Opened        Microsoft\.PowerShell     Available$'
    }

    It 'says Access is denied for a wrong password (HTTP 401), as Windows: AccessDenied,PSSessionOpenFailed' {
        $wrong = [pscredential]::new($ep.User, (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $wrong -Authentication Basic -SessionOption $noEncryption `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'AccessDenied,PSSessionOpenFailed'
        $e[0].CategoryInfo.Category | Should -Be 'OpenError'
        $e[0].Exception | Should -BeOfType ([System.Management.Automation.Remoting.PSRemotingTransportException])
        $e[0].Exception.ErrorCode | Should -Be 5
        $message = 'Connecting to remote server 127.0.0.1 failed with the following error message : Access is denied. For more information, see the about_Remote_Troubleshooting Help topic.'
        $e[0].Exception.Message | Should -BeExactly $message
        $e[0].ErrorDetails.Message | Should -BeExactly "[127.0.0.1] $message"
        $e[0].TargetObject | Should -Be '127.0.0.1'
        $e[0] | Out-String | Should -Not -Match 'not-the-password'
        Get-PSSession | Should -BeNullOrEmpty
    }

    It 'keeps PSSessionOpenFailed without a transport code where nothing listens' {
        New-PSSession -ComputerName 127.0.0.1 -Port (Get-FreePort) -Credential $ep.Credential -Authentication Basic -SessionOption $noEncryption `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'PSSessionOpenFailed'
        $e[0].Exception.ErrorCode | Should -Be 0
    }

    It 'refuses a certificate it cannot check without -SkipCACheck (<Case>)' -ForEach @(
        @{ Case = 'by host name, CN checked'; Computer = 'localhost'; Option = @{} }
        @{ Case = 'by address, -SkipCNCheck only'; Computer = '127.0.0.1'; Option = @{ SkipCNCheck = $true } }
    ) {
        $o = New-PSSessionOption @Option
        New-PSSession -ComputerName $Computer -Port $ep.HttpsPort -UseSSL -Credential $ep.Credential -Authentication Basic -SessionOption $o `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'PSSessionOpenFailed'
        $e[0].CategoryInfo.Category | Should -Be 'OpenError'
        Get-Shown $e[0] | Should -Match 'certificate'
    }

    It 'refuses Basic over HTTP without -NoEncryption, saying how to allow it' {
        New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'PSSessionOpenFailed'
        $e[0].CategoryInfo.Category | Should -Be 'OpenError'
        Get-Shown $e[0] | Should -Match 'Basic authentication to 127\.0\.0\.1 over HTTP would send the password unencrypted'
        Get-Shown $e[0] | Should -Match '-UseSsl'
        Get-Shown $e[0] | Should -Match '-NoEncryption'
    }

    It 'names New-PSSessionOption in the hint for Basic over HTTP' {
        New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-Shown $e[0] | Should -Match 'New-PSSessionOption -NoEncryption'
    }

    It 'refuses a session option whose IdleTimeout is under a minute, as Windows'' New-PSSession' {
        # Built without New-PSSessionOption, which refuses such a value itself.
        $short = [System.Management.Automation.Remoting.PSSessionOption]::new()
        $short.NoEncryption = $true
        $short.IdleTimeout = [timespan]::FromSeconds(30)
        $e = $null
        try { New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic -SessionOption $short -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'Argument,Microsoft.PowerShell.Commands.NewPSSessionCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.Message | Should -BeExactly 'The specified IdleTimeout session option 30 (seconds) is not a valid period.  Specify an IdleTimeout value that is greater than or equal to the minimum allowed 60 (seconds).'
        # The same option as $PSSessionOption (here a plain object, as [PSSessionOption]::new() gives it).
        $PSSessionOption = $short
        $e = $null
        try { New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'Argument,Microsoft.PowerShell.Commands.NewPSSessionCommand'
        Get-PSSession | Should -BeNullOrEmpty
    }

    It 'takes $PSSessionOption set from New-PSSessionOption' {
        $PSSessionOption = New-PSSessionOption -NoEncryption
        $s = New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic
        $s.State | Should -Be 'Opened'
        @(Get-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic).InstanceId | Should -Contain $s.InstanceId
        $PSSessionOption.IdleTimeout = [timespan]::FromSeconds(30)
        { New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic -ErrorAction Stop } |
            Should -Throw -ErrorId 'Argument,Microsoft.PowerShell.Commands.NewPSSessionCommand'
    }
}

Describe 'New-PSSessionOption' {
    It 'has Windows'' defaults' {
        $o = New-PSSessionOption
        $o | Should -BeOfType ([System.Management.Automation.Remoting.PSSessionOption])
        $o.OperationTimeout | Should -Be ([timespan]::FromMinutes(3))
        "$($o.OperationTimeout)" | Should -BeExactly '00:03:00'
        $o.IdleTimeout | Should -Be ([timespan]::FromMilliseconds(-1))
        $o.IdleTimeout.TotalMilliseconds | Should -Be -1
        $o.MaxConnectionRetryCount | Should -Be 0
        $o.NoEncryption | Should -BeFalse
        $o.SkipCACheck | Should -BeFalse
    }

    It 'refuses an -IdleTimeout under a minute with the message Windows'' New-PSSession gives' {
        $e = $null
        try { New-PSSessionOption -IdleTimeout 2000 } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'Argument,Microsoft.PowerShell.Commands.NewPSSessionOptionCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.Message | Should -BeExactly 'The specified IdleTimeout session option 2 (seconds) is not a valid period.  Specify an IdleTimeout value that is greater than or equal to the minimum allowed 60 (seconds).'
    }

    It 'takes -IdleTimeout 60000, which the session asks the server for' {
        $o = New-PSSessionOption -IdleTimeout 60000 -NoEncryption
        $o.IdleTimeout | Should -Be ([timespan]::FromMinutes(1))
        $s = New-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $ep.Credential -Authentication Basic -SessionOption $o -Name one-minute
        try {
            # The endpoint logs each shell it creates with the rsp:IdleTimeOut of the Create.
            Wait-Until { (Get-Content $ep.Log -Raw) -match 'created \([^)]*name one-minute, idle timeout 60000 ms' } | Should -BeTrue
        } finally {
            Remove-PSSession $s
        }
    }
}

Describe 'Disconnect-PSSession and Connect-PSSession' {
    AfterEach { Clear-Sessions }

    It 'shows the session Disconnected and unusable, and Opened with its state after Connect-PSSession' {
        $s = New-PSSession @http -Name parked
        Invoke-Command -Session $s { $kept = 'kept' }
        $out = Disconnect-PSSession $s -IdleTimeoutSec 600
        $out.InstanceId | Should -Be $s.InstanceId
        $s.State | Should -Be 'Disconnected'
        $s.Availability | Should -Be 'None'
        (Get-PSSession -Name parked).State | Should -Be 'Disconnected'
        $row = ($s | Format-Table | Out-String -Width 200).Split("`n") | ForEach-Object TrimEnd | Where-Object { $_ } | Select-Object -Index 2
        $row | Should -Match '^ +\d+ parked          WSMan     127\.0\.0\.1       RemoteMachine   Disconnected  Microsoft\.PowerShell          None$'
        Get-ServerShells | Should -Contain 'parked|Disconnected'

        # The engine's own refusal of a session that is not Opened: an error for the session, then a
        # terminating one as no session is left.
        $refused = Get-InvokeRefusal $s
        $refused.Session.FullyQualifiedErrorId | Should -BeExactly 'InvokeCommandCommandInvalidSessionState,Microsoft.PowerShell.Commands.InvokeCommandCommand'
        $refused.Session.CategoryInfo.Category | Should -Be 'InvalidOperation'
        $refused.Session.Exception | Should -BeOfType ([System.Management.Automation.Runspaces.InvalidRunspaceStateException])
        $refused.Session.Exception.Message | Should -Match 'The session state is Disconnected\.$'
        $refused.Terminating.FullyQualifiedErrorId | Should -BeExactly 'InvalidOperation,Microsoft.PowerShell.Commands.InvokeCommandCommand'
        $refused.Terminating.Exception.Message | Should -BeLike 'No valid sessions were specified.*'

        $back = Connect-PSSession $s
        $back.InstanceId | Should -Be $s.InstanceId
        $s.State | Should -Be 'Opened'
        $s.Availability | Should -Be 'Available'
        Invoke-Command -Session $s { $kept } | Should -Be 'kept'
        Get-ServerShells | Should -Contain 'parked|Opened'
    }

    It 'disconnects and connects by -Name, -Id and -InstanceId, and again and again' {
        $a = New-PSSession @http -Name by-name
        $b = New-PSSession @http -Name by-id
        (Disconnect-PSSession -Name by-name -IdleTimeoutSec 600).InstanceId | Should -Be $a.InstanceId
        (Connect-PSSession -Name by-name).InstanceId | Should -Be $a.InstanceId
        (Disconnect-PSSession -Id $b.Id -IdleTimeoutSec 600).InstanceId | Should -Be $b.InstanceId
        $b.State | Should -Be 'Disconnected'
        (Connect-PSSession -InstanceId $b.InstanceId).InstanceId | Should -Be $b.InstanceId
        foreach ($round in 1..3) {
            Disconnect-PSSession $a -IdleTimeoutSec 600 | Out-Null
            Connect-PSSession $a | Out-Null
            Invoke-Command -Session $a { "round $using:round" } | Should -Be "round $round"
        }
        Disconnect-PSSession -Name nothing-by-this-name -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'RemoteRunspaceNotAvailableForSpecifiedName,Microsoft.PowerShell.Commands.DisconnectPSSessionCommand'
        Connect-PSSession -Id 98765 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'RemoteRunspaceNotAvailableForSpecifiedSessionId,Microsoft.PowerShell.Commands.ConnectPSSessionCommand'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Disconnect-PSSession $a -WhatIf | Should -BeNullOrEmpty
        $a.State | Should -Be 'Opened'
    }

    It 'shows when a disconnected session was disconnected and when it expires' {
        $s = New-PSSession @http
        $before = Get-Date
        Disconnect-PSSession $s -IdleTimeoutSec 600 | Out-Null
        $s.DisconnectedOn | Should -BeGreaterOrEqual $before.AddSeconds(-1)
        $s.ExpiresOn | Should -Be $s.DisconnectedOn.AddSeconds(600)
        $s.IdleTimeout | Should -Be 600000 -Because 'PSSession.IdleTimeout is the connection''s, in ms'
    }

    It 'loses a disconnected session when its idle timeout (the 60 s minimum) passes, and Connect-PSSession says so' {
        # The one test that waits out Windows' minimum idle timeout, as a user would see it.
        $s = New-PSSession @http -Name expiring
        Invoke-Command $s { $x = 1 }
        Disconnect-PSSession $s -IdleTimeoutSec 60 | Out-Null
        $s.ExpiresOn | Should -Be $s.DisconnectedOn.AddSeconds(60)
        (Get-PSSession @http -Name expiring).State | Should -Be 'Disconnected'
        Wait-Until { -not (Get-PSSession @http -Name expiring) } -Tries 1200 | Should -BeTrue -Because 'the server ends the shell once 60 s passed'
        ((Get-Date) - $s.DisconnectedOn).TotalSeconds | Should -BeGreaterOrEqual 59
        Connect-PSSession $s -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'PSSessionConnectFailed,Microsoft.PowerShell.Commands.ConnectPSSessionCommand'
        $e[0].Exception.Message | Should -Match 'The server no longer has the session''s shell .*: its idle timeout passed, or it was closed or removed; what its commands wrote meanwhile is gone'
        $s.State | Should -Be 'Disconnected'
        Remove-PSSession $s -ErrorVariable r -ErrorAction SilentlyContinue
        $r[0].FullyQualifiedErrorId | Should -BeLike 'RemoveSessionCannotConnectToServer*'
        Get-PSSession | Where-Object InstanceId -EQ $s.InstanceId | Should -BeNullOrEmpty
    }

    It 'keeps the output of an -AsJob pipeline written while disconnected' {
        $s = New-PSSession @http
        $flag = Join-Path ([IO.Path]::GetTempPath()) "rsess-wsman-flag-$([guid]::NewGuid().ToString('N'))"
        try {
            # The remote command writes 1, waits for the flag file, then writes 2 and 3 and says it is done.
            $job = Invoke-Command -Session $s -AsJob -ArgumentList $flag {
                param($f)
                1
                while (-not (Test-Path $f)) { Start-Sleep -Milliseconds 50 }
                2
                3
                Set-Content "$f.done" done
            }
            Wait-Until { $job.ChildJobs[0].Output.Count -ge 1 } -Tries 300 | Should -BeTrue
            Disconnect-PSSession $s -IdleTimeoutSec 600 | Out-Null
            $s.State | Should -Be 'Disconnected'
            Set-Content $flag go
            Wait-Until { Test-Path "$flag.done" } -Tries 300 | Should -BeTrue
            $s.State | Should -Be 'Disconnected'
            Connect-PSSession $s | Out-Null
            $job | Wait-Job -Timeout 120 | Out-Null
            $job.State | Should -Be 'Completed'
            $job | Receive-Job | Should -Be @(1, 2, 3)
            $job | Remove-Job
        } finally {
            Remove-Item $flag, "$flag.done" -ErrorAction SilentlyContinue
        }
    }

    It 'removes a disconnected session and deletes its shell' {
        $s = New-PSSession @http -Name removed-while-away
        Disconnect-PSSession $s -IdleTimeoutSec 600 | Out-Null
        Remove-PSSession $s -ErrorAction Stop
        $s.State | Should -Be 'Closed'
        Get-PSSession -Name removed-while-away -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-ServerShells | Should -Not -Contain 'removed-while-away|Disconnected'
    }

    It 'refuses to disconnect a process session (PSSessionDisconnectFailed)' {
        $p = New-PSSession
        Disconnect-PSSession $p -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'PSSessionDisconnectFailed,Microsoft.PowerShell.Commands.DisconnectPSSessionCommand'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $e[0].Exception.Message | Should -Match 'The disconnection operation is not supported on the remote computer'
        $p.State | Should -Be 'Opened'
    }

    It 'writes an Opened session as it is, and refuses a closed one (PSSessionConnectFailed)' {
        $s = New-PSSession @http -Name open
        (Connect-PSSession $s -ErrorVariable e) | Should -Be $s -Because 'as on Windows, a connected session is written again'
        $e | Should -BeNullOrEmpty
        Remove-PSSession $s
        Connect-PSSession $s -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'PSSessionConnectFailed,Microsoft.PowerShell.Commands.ConnectPSSessionCommand'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $e[0].Exception.Message | Should -BeExactly 'Cannot connect PSSession "open", either because it is not in the Disconnected state, or it is not available for connection.'
        $s.State | Should -Be 'Closed'
    }

    It 'refuses -IdleTimeoutSec 10 (CannotDisconnectSessionWithInvalidIdleTimeout)' {
        $s = New-PSSession @http
        $e = $null
        try { Disconnect-PSSession $s -IdleTimeoutSec 10 } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'CannotDisconnectSessionWithInvalidIdleTimeout,Microsoft.PowerShell.Commands.DisconnectPSSessionCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $s.State | Should -Be 'Opened'
        $s.Availability | Should -Be 'Available'
    }
}

Describe 'Get-PSSession -ComputerName and -ConnectionUri' {
    AfterEach { Clear-Sessions }

    It 'lists a session another pwsh disconnected, as Disconnected with its Name and InstanceId' {
        $s = New-PSSession @http -Name left-behind
        Disconnect-PSSession $s -IdleTimeoutSec 600 | Out-Null
        $out = Get-SessionsFromOtherPwsh
        $out | Should -Be "left-behind|$($s.InstanceId)|Disconnected|None|Microsoft.PowerShell|WSMan|127.0.0.1"
    }

    It 'lists a session another pwsh has open as Disconnected and Busy, as Windows does' {
        $s = New-PSSession @http -Name in-use
        $out = Get-SessionsFromOtherPwsh | ForEach-Object { ($_ -split '\|')[0..3] -join '|' }
        $out | Should -Be "in-use|$($s.InstanceId)|Disconnected|Busy"
    }

    It 'filters by -State, -Name and -InstanceId' {
        $alpha = New-PSSession @http -Name alpha
        $beta = New-PSSession @http -Name beta
        Disconnect-PSSession $beta -IdleTimeoutSec 600 | Out-Null
        (Get-PSSession @http | Sort-Object Name).Name | Should -Be @('alpha', 'beta')
        @(Get-PSSession @http -State Disconnected).Name | Should -Be @('beta')
        @(Get-PSSession @http -State Opened).Name | Should -Be @('alpha')
        Get-PSSession @http -State Broken | Should -BeNullOrEmpty
        @(Get-PSSession @http -Name al*).InstanceId | Should -Be @($alpha.InstanceId)
        @(Get-PSSession @http -Name BETA).InstanceId | Should -Be @($beta.InstanceId)
        Get-PSSession @http -Name gamma | Should -BeNullOrEmpty
        @(Get-PSSession @http -InstanceId $beta.InstanceId).Name | Should -Be @('beta')
        Get-PSSession @http -InstanceId ([guid]::NewGuid()) | Should -BeNullOrEmpty
        # This PowerShell's own sessions come back as they are.
        (Get-PSSession @http -Name alpha).Id | Should -Be $alpha.Id
        (Get-PSSession @http -ConfigurationName Microsoft.PowerShell | Sort-Object Name).Name | Should -Be @('alpha', 'beta')
        Get-PSSession @http -ConfigurationName Some.Other.Configuration | Should -BeNullOrEmpty
        $uri = "http://127.0.0.1:$($ep.Port)/wsman"
        @(Get-PSSession -ConnectionUri $uri -Credential $ep.Credential -Authentication Basic -SessionOption $noEncryption -State Disconnected).Name | Should -Be @('beta')
    }

    It 'says it cannot ask a computer where nothing listens (RemotePSSessionQueryFailed)' {
        $closed = Get-FreePort
        Get-PSSession -ComputerName 127.0.0.1 -Port $closed -Credential $ep.Credential -Authentication Basic -SessionOption $noEncryption `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'RemotePSSessionQueryFailed,Microsoft.PowerShell.Commands.GetPSSessionCommand'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $e[0].Exception.Message | Should -Match "127\.0\.0\.1:$closed"
        # Refused credentials: the same error, saying so.
        $wrong = [pscredential]::new($ep.User, (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        Get-PSSession -ComputerName 127.0.0.1 -Port $ep.Port -Credential $wrong -Authentication Basic -SessionOption $noEncryption `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'RemotePSSessionQueryFailed,Microsoft.PowerShell.Commands.GetPSSessionCommand'
        $e[0].Exception.Message | Should -Match '401'
    }

    It 'asks over HTTPS with -UseSSL and with an https -ConnectionUri' {
        $s = New-PSSession @http -Name over-tls
        @(Get-PSSession -ComputerName 127.0.0.1 -Port $ep.HttpsPort -UseSSL -Credential $ep.Credential -Authentication Basic -SessionOption $skipChecks).InstanceId |
            Should -Be @($s.InstanceId)
        @(Get-PSSession -ConnectionUri "https://127.0.0.1:$($ep.HttpsPort)/wsman" -Credential $ep.Credential -Authentication Basic -SessionOption $skipChecks).Name |
            Should -Be @('over-tls')
    }

    It 'leaves the local sets to the engine''s Get-PSSession' {
        $e = $null
        try { Get-PSSession -Id 99 -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeExactly 'RemoteRunspaceNotAvailableForSpecifiedSessionId,Microsoft.PowerShell.Commands.GetPSSessionCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.Message | Should -BeExactly 'The remote session with the session ID 99 is not available.'
        $s = New-PSSession @http -Name local
        (Get-PSSession).Name | Should -Be 'local'
        (Get-PSSession -Id $s.Id).InstanceId | Should -Be $s.InstanceId
        (Get-PSSession -InstanceId $s.InstanceId).Name | Should -Be 'local'
        # -State belongs to the remote sets only.
        { Get-PSSession -State Opened -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet,Microsoft.PowerShell.Commands.GetPSSessionCommand'
    }
}

Describe 'WS-Management sessions at the limits' {
    AfterEach { Clear-Sessions }

    It 'carries 1 MB of input and output through a server whose envelopes are 150 KiB' {
        $small = Start-WsmanEndpoint -Arguments '--max-envelope-kb', '150'
        try {
            $s = New-PSSession -ComputerName 127.0.0.1 -Port $small.Port -Credential $small.Credential -Authentication Basic -SessionOption $noEncryption
            $in = 'x' * 1MB
            $out = Invoke-Command -Session $s -ArgumentList $in { param($big) $big.Length; $big.Replace('x', 'y') }
            $out[0] | Should -Be 1MB
            $out[1].Length | Should -Be 1MB
            $out[1] | Should -BeExactly ('y' * 1MB)
            Invoke-Command -Session $s { $PID } | Should -Be $small.Process.Id
        } finally {
            Clear-Sessions
            Stop-WsmanEndpoint $small
        }
    }

    It 'becomes Broken when the server is killed mid-command, and Invoke-Command says so' {
        $doomed = Start-WsmanEndpoint
        try {
            $s = New-PSSession -ComputerName 127.0.0.1 -Port $doomed.Port -Credential $doomed.Credential -Authentication Basic -SessionOption $noEncryption
            $job = Invoke-Command -Session $s -AsJob { 'started'; Start-Sleep -Seconds 600 }
            Wait-Until { $job.ChildJobs[0].Output.Count -ge 1 } -Tries 300 | Should -BeTrue
            $doomed.Process.Kill($true)
            Wait-Until { $s.State -eq 'Broken' } -Tries 600 | Should -BeTrue
            $s.Availability | Should -Be 'None'
            $job | Wait-Job -Timeout 60 | Out-Null
            $job.State | Should -Be 'Failed'
            $job.ChildJobs[0].JobStateInfo.Reason.Message | Should -Match '^Processing data from remote server 127\.0\.0\.1 failed with the following error message: '
            $s.Runspace.RunspaceStateInfo.Reason.Message | Should -Match '^Processing data from remote server 127\.0\.0\.1 failed'
            $job | Receive-Job -ErrorVariable jobErrors -ErrorAction SilentlyContinue | Should -Be 'started'
            $jobErrors[0].FullyQualifiedErrorId | Should -BeExactly 'JobFailure'
            $jobErrors[0].CategoryInfo.Category | Should -Be 'OperationStopped'
            Disconnect-PSSession $s -ErrorVariable notOpened -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $notOpened[0].FullyQualifiedErrorId | Should -BeExactly 'CannotDisconnectSessionWhenNotOpened,Microsoft.PowerShell.Commands.DisconnectPSSessionCommand'
            $notOpened[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
            $refused = Get-InvokeRefusal $s
            $refused.Session.FullyQualifiedErrorId | Should -BeExactly 'InvokeCommandCommandInvalidSessionState,Microsoft.PowerShell.Commands.InvokeCommandCommand'
            $refused.Session.Exception.Message | Should -Match 'The session state is Broken\.$'
            $refused.Terminating.FullyQualifiedErrorId | Should -BeExactly 'InvalidOperation,Microsoft.PowerShell.Commands.InvokeCommandCommand'
            $job | Remove-Job -Force
        } finally {
            Get-PSSession | Remove-PSSession
            Stop-WsmanEndpoint $doomed
        }
    }
}

Describe 'The engine internals the PSSession cmdlets use' {
    It 'are in this pwsh as module/EngineInternals.cs expects them' {
        $internal = [Reflection.BindingFlags] 'NonPublic, Instance'
        $sma = [System.Management.Automation.PSObject].Assembly
        $remote = $sma.GetType('System.Management.Automation.RemoteRunspace', $true)
        # ShowDisconnected
        $remote.GetMethod('SetRunspaceState', $internal, [type[]] @([System.Management.Automation.Runspaces.RunspaceState], [Exception])) | Should -Not -BeNullOrEmpty
        $remote.GetMethod('RaiseRunspaceStateEvents', $internal, [type]::EmptyTypes) | Should -Not -BeNullOrEmpty
        $remote.GetProperty('RunspaceAvailability').SetMethod | Should -Not -BeNullOrEmpty
        # SetConfigurationName, SetInstanceId
        $field = [System.Management.Automation.Runspaces.PSSession].GetField('<ConfigurationName>k__BackingField', $internal)
        $field.FieldType | Should -Be ([string])
        [System.Management.Automation.Runspaces.Runspace].GetProperty('InstanceId').GetSetMethod($true) | Should -Not -BeNullOrEmpty
        # KeepErrorId
        [System.Management.Automation.ErrorRecord].GetProperty('PreserveInvocationInfoOnce', $internal).PropertyType | Should -Be ([bool])

        # And the module found them all.
        $engine = (Get-Module RemoteSessions).ImplementingAssembly.GetType('RemoteSessions.EngineInternals', $true)
        $static = [Reflection.BindingFlags] 'NonPublic, Static'
        foreach ($can in 'CanShowDisconnected', 'CanSetSessionIdentity', 'CanKeepErrorIds') {
            $engine.GetProperty($can, $static).GetValue($null) | Should -BeTrue -Because $can
        }
    }
}
