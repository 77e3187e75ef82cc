# Receive-PSSession and Connect-PSSession from another PowerShell: a WS-Man session is disconnected in one pwsh
# while its command runs on, and a second pwsh (a new process, as a user on another machine would)
# finds it with Get-PSSession -ComputerName and receives what the command wrote meanwhile. The server is
# tests/wsman-endpoint: PowerShell's own WSMan plugin behind a loopback WS-Management endpoint.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestPeers.ps1')
    Import-Module (Get-ModuleManifest) -Force
    $script:Endpoint = Start-WsmanEndpoint
    $script:Port = $script:Endpoint.Port
    $script:Credential = $script:Endpoint.Credential
    $script:Option = New-PSSessionOption -NoEncryption
    $script:Remote = @{ ComputerName = '127.0.0.1'; Port = $script:Port; Credential = $script:Credential; Authentication = 'Basic'; SessionOption = $script:Option }

    # Runs $Script in a new pwsh with the module imported and the endpoint's parameters in $remote;
    # returns its output lines.
    function Invoke-OtherPwsh([string] $Script) {
        $prelude = "Import-Module '$(Get-ModuleManifest)'; " +
            "`$remote = @{ ComputerName = '127.0.0.1'; Port = $($script:Port); Authentication = 'Basic'; SessionOption = (New-PSSessionOption -NoEncryption); " +
            "Credential = [pscredential]::new('$($script:Endpoint.User)', (ConvertTo-SecureString '$($script:Endpoint.Password)' -AsPlainText -Force)) }; "
        $output = & (Get-PwshPath) -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1
        $output | ForEach-Object { "$_" }
    }
}

AfterAll {
    Get-Job | Remove-Job -Force
    Get-PSSession | Remove-PSSession
    if ($script:Endpoint) { Stop-WsmanEndpoint $script:Endpoint }
}

Describe 'Receive-PSSession from another PowerShell' {
    It 'receives the output, warnings and errors a command wrote while its session was disconnected' {
        $s = New-PSSession @Remote -Name nightly
        $job = Invoke-Command $s { 'started'; Start-Sleep -Milliseconds 1500; 1; 2; Write-Warning 'careful'; Write-Error 'oops'; 3 } -AsJob
        Wait-Until { $job.ChildJobs[0].Output.Count -gt 0 } | Should -BeTrue
        (Disconnect-PSSession $s).State | Should -Be 'Disconnected'
        $id = $s.InstanceId

        $seen = Invoke-OtherPwsh @'
Get-PSSession @remote -Name nightly | ForEach-Object { "listed $($_.Name) $($_.State) $($_.Availability) $($_.InstanceId) $($_.ConfigurationName)" }
Start-Sleep -Milliseconds 2500
$out = Receive-PSSession @remote -Name nightly -WarningVariable w -ErrorVariable e -WarningAction SilentlyContinue -ErrorAction SilentlyContinue
"output $($out -join ',')"
"computer $($out[0].PSComputerName) shown $($out[0].PSShowComputerName)"
"warning $w"
"error $($e[0].Exception.Message) | $($e[0].FullyQualifiedErrorId) | $($e[0].GetType().Name) | $($e[0].OriginInfo.PSComputerName)"
Get-PSSession @remote -Name nightly | ForEach-Object { "after $($_.State)" }
'@
        $seen | Should -Contain "listed nightly Disconnected None $id Microsoft.PowerShell"
        $seen | Should -Contain 'output 1,2,3'
        $seen | Should -Contain 'computer 127.0.0.1 shown True'
        $seen | Should -Contain 'warning careful'
        $seen | Should -Contain 'error oops | Microsoft.PowerShell.Commands.WriteErrorException | RemotingErrorRecord | 127.0.0.1'
        $seen | Should -Contain 'after Opened' -Because 'as on Windows, the receiving PowerShell is connected to the session afterwards'
        # That PowerShell ended, and with it the session: this one can only let its copy go.
        Remove-PSSession $s -ErrorAction SilentlyContinue -ErrorVariable removing
        $removing[0].FullyQualifiedErrorId | Should -BeLike 'RemoveSessionCannotConnectToServer*'
        Get-PSSession | Should -BeNullOrEmpty
    }

    It 'receives by InstanceId, and a session piped from Get-PSSession -ComputerName' {
        $s = New-PSSession @Remote -Name piped
        $job = Invoke-Command $s { 'started'; Start-Sleep -Milliseconds 1500; 'by instance id' } -AsJob
        Wait-Until { $job.ChildJobs[0].Output.Count -gt 0 } | Should -BeTrue
        $null = Disconnect-PSSession $s
        $seen = Invoke-OtherPwsh @"
Start-Sleep -Milliseconds 2500
Receive-PSSession @remote -InstanceId $($s.InstanceId)
Get-PSSession @remote -InstanceId $($s.InstanceId) | Receive-PSSession | ForEach-Object { "again `$_" }
'end'
"@
        $seen | Should -Be @('by instance id', 'end') -Because 'what was received once is not received again'
        Remove-PSSession $s -ErrorAction SilentlyContinue
    }

    It 'a pwsh that exits ends its open sessions on the server and leaves its disconnected ones' {
        $seen = Invoke-OtherPwsh @'
$open = New-PSSession @remote -Name left-open
$away = New-PSSession @remote -Name left-away
$null = Disconnect-PSSession $away
"ids $($open.InstanceId) $($away.InstanceId)"
exit
'@
        $ids = ($seen | Where-Object { $_ -like 'ids *' }) -split ' '
        $ids.Count | Should -Be 3
        $server = Get-PSSession @Remote
        $server.InstanceId | Should -Not -Contain ([guid] $ids[1])
        ($server | Where-Object InstanceId -EQ ([guid] $ids[2])).State | Should -Be 'Disconnected'
        $server | Where-Object InstanceId -EQ ([guid] $ids[2]) | Remove-PSSession
        (Get-PSSession @Remote).InstanceId | Should -Not -Contain ([guid] $ids[2])
    }

    It 'says clearly when the session is not there, and refuses -OutTarget Job for another client''s session' {
        $s = New-PSSession @Remote -Name jobless
        $null = Disconnect-PSSession $s
        $seen = Invoke-OtherPwsh @'
Receive-PSSession @remote -Name nosuch -ErrorAction SilentlyContinue -ErrorVariable e
"$($e[0].FullyQualifiedErrorId) | $($e[0].CategoryInfo.Category)"
try { Receive-PSSession @remote -Name jobless -OutTarget Job } catch { "$($_.FullyQualifiedErrorId) | $($_.CategoryInfo.Category)" }
"left $((Get-PSSession @remote -Name jobless).State)"
Receive-PSSession -ComputerName 127.0.0.1 -Port 1 -Name x -Credential $remote.Credential -Authentication Basic -SessionOption $remote.SessionOption -ErrorAction SilentlyContinue -ErrorVariable q
"$($q[0].FullyQualifiedErrorId) | $($q[0].CategoryInfo.Category)"
'@
        $seen | Should -Contain 'ReceivePSSessionCannotFindSession,Microsoft.PowerShell.Commands.ReceivePSSessionCommand | ObjectNotFound'
        $seen | Should -Contain 'ReceivePSSessionOutTargetJobNotSupported,Microsoft.PowerShell.Commands.ReceivePSSessionCommand | NotImplemented'
        $seen | Should -Contain 'ReceivePSSessionQueryForSessionFailed,Microsoft.PowerShell.Commands.ReceivePSSessionCommand | InvalidOperation'
        $seen | Should -Contain 'left Disconnected' -Because 'a refused receive leaves the session as it was'
        Remove-PSSession $s
    }
}

Describe 'Connect-PSSession from another PowerShell' {
    It 'connects to a disconnected session with the state the server kept, and it goes on as a session of its own' {
        $s = New-PSSession @Remote -Name kept
        Invoke-Command $s { $x = 41 }
        $null = Disconnect-PSSession $s -IdleTimeoutSec 600
        $seen = Invoke-OtherPwsh @'
$listed = Get-PSSession @remote -Name kept
$c = $listed | Connect-PSSession
"connected $($c.Name) $($c.State) $($c.Availability) $($c.InstanceId) $($c.ConfigurationName) $($c.Transport) $($c.ComputerName)"
"listed object $($listed.State)"
"x $(Invoke-Command $c { $x + 1 })"
"in Get-PSSession $(@(Get-PSSession | Where-Object InstanceId -EQ $c.InstanceId).Count)"
"server $((Get-PSSession @remote -Name kept).State)"
"disconnected $((Disconnect-PSSession $c).State)"
"reconnected $((Connect-PSSession $c).State) $(Invoke-Command $c { $x })"
$null = Disconnect-PSSession $c
'@
        $seen | Should -Contain "connected kept Opened Available $($s.InstanceId) Microsoft.PowerShell WSMan 127.0.0.1"
        $seen | Should -Contain 'listed object Opened' -Because 'the object Get-PSSession wrote is the session connected'
        $seen | Should -Contain 'x 42'
        $seen | Should -Contain 'in Get-PSSession 1'
        $seen | Should -Contain 'server Opened'
        $seen | Should -Contain 'disconnected Disconnected'
        $seen | Should -Contain 'reconnected Opened 41'
        # The first PowerShell reconnects its own session object to the shell the other one left.
        (Connect-PSSession $s).State | Should -Be 'Opened'
        Invoke-Command $s { $x } | Should -Be 41
        Remove-PSSession $s
        Get-PSSession @Remote -Name kept | Should -BeNullOrEmpty
    }

    It 'refuses a session connected to another client, and one the server no longer has' {
        $s = New-PSSession @Remote -Name busy
        $seen = Invoke-OtherPwsh @'
$busy = Get-PSSession @remote -Name busy
"listed $($busy.State) $($busy.Availability)"
Connect-PSSession $busy -ErrorAction SilentlyContinue -ErrorVariable e
"busy $($e[0].FullyQualifiedErrorId) | $($e[0].CategoryInfo.Category) | $($e[0].Exception.Message)"
'@
        $seen | Should -Contain 'listed Disconnected Busy'
        $seen | Should -Contain 'busy PSSessionConnectFailed,Microsoft.PowerShell.Commands.ConnectPSSessionCommand | InvalidOperation | Cannot connect PSSession "busy", either because it is not in the Disconnected state, or it is not available for connection.'
        $null = Disconnect-PSSession $s
        $seen = Invoke-OtherPwsh @'
$gone = Get-PSSession @remote -Name busy
Get-PSSession @remote -Name busy | Remove-PSSession
Connect-PSSession $gone -ErrorAction SilentlyContinue -ErrorVariable e
"gone $($e[0].FullyQualifiedErrorId) | $($e[0].CategoryInfo.Category) | $($e[0].Exception.Message)"
"left $(@(Get-PSSession).Count)"
'@
        $seen | Should -Contain 'left 0'
        $gone = $seen | Where-Object { $_ -like 'gone *' }
        $gone | Should -Match '^gone PSSessionConnectFailed,Microsoft.PowerShell.Commands.ConnectPSSessionCommand \| OpenError \| Connecting to the disconnected session busy on 127.0.0.1 failed: '
        Remove-PSSession $s -ErrorAction SilentlyContinue
    }

    It 'connects by -ComputerName with -Name or -InstanceId, and says which are not there' {
        $a = New-PSSession @Remote -Name by-computer-a
        $b = New-PSSession @Remote -Name by-computer-b
        Invoke-Command $a, $b { $y = $PSSenderInfo.ConnectionString.Length -gt 0 }
        $null = Disconnect-PSSession $a, $b -IdleTimeoutSec 600
        $seen = Invoke-OtherPwsh @"
`$a = Connect-PSSession @remote -Name by-computer-a
"a `$(`$a.Name) `$(`$a.State) `$(Invoke-Command `$a { `$y })"
`$b = Connect-PSSession @remote -InstanceId $($b.InstanceId)
"b `$(`$b.Name) `$(`$b.State)"
"again `$((Connect-PSSession @remote -Name by-computer-*).Count)"
Connect-PSSession @remote -Name nosuch -ErrorAction SilentlyContinue -ErrorVariable e
"missing `$(`$e[0].FullyQualifiedErrorId) | `$(`$e[0].CategoryInfo.Category)"
Get-PSSession | Disconnect-PSSession | Out-Null
"@
        $seen | Should -Contain 'a by-computer-a Opened True'
        $seen | Should -Contain 'b by-computer-b Opened'
        $seen | Should -Contain 'again 2' -Because 'sessions this PowerShell has open are written as they are'
        $seen | Should -Contain 'missing RemoteRunspaceNotAvailableForSpecifiedName,Microsoft.PowerShell.Commands.ConnectPSSessionCommand | InvalidArgument'
        Connect-PSSession $a, $b | Should -HaveCount 2
        Remove-PSSession $a, $b
    }
}

Describe 'Receive-PSSession in the same PowerShell' {
    It 'connects a disconnected session again and writes its jobs, or with -OutTarget Host what they receive' {
        $s = New-PSSession @Remote -Name same
        $j = Invoke-Command $s { 'a'; Start-Sleep -Milliseconds 1500; 'b'; 'c' } -AsJob
        Wait-Until { $j.ChildJobs[0].Output.Count -gt 0 } | Should -BeTrue
        $null = Disconnect-PSSession $s
        $out = Receive-PSSession $s
        $out.Id | Should -Be $j.Id -Because 'as on Windows, a session with a job gives the job by default'
        $s.State | Should -Be 'Opened' -Because 'receiving connects the session'
        Receive-Job $j -Wait | Should -Be @('a', 'b', 'c')

        $k = Invoke-Command $s { 'd'; Start-Sleep -Milliseconds 1500; 'e' } -AsJob
        Wait-Until { $k.ChildJobs[0].Output.Count -gt 0 } | Should -BeTrue
        $null = Disconnect-PSSession $s
        $out = Receive-PSSession $s -OutTarget Host
        $out | Should -Be @('d', 'e')
        $out[0].PSComputerName | Should -Be '127.0.0.1'
        $s.State | Should -Be 'Opened'
        Receive-PSSession $s -OutTarget Host | Should -BeNullOrEmpty -Because 'what was received is not received again'
        # An open session's running job, as it comes, to its end.
        $null = Invoke-Command $s { 1; Start-Sleep -Milliseconds 500; 2 } -AsJob
        Receive-PSSession $s -OutTarget Host | Should -Be @(1, 2)
        (Receive-PSSession $s -OutTarget Job) | Should -BeNullOrEmpty
        Remove-PSSession $s
    }

    It 'leaves the whole output of an -InDisconnectedSession command on the server, for another PowerShell or this one' {
        # No pause in the command: its output is written while the session is being disconnected.
        $null = Invoke-Command @Remote -InDisconnectedSession -SessionName instant { 'late'; 1..3 }
        $seen = Invoke-OtherPwsh @'
"got $((Receive-PSSession @remote -Name instant) -join ',')"
$null = Get-PSSession -Name instant | Disconnect-PSSession
'@
        $seen | Should -Contain 'got late,1,2,3'

        $r = Invoke-Command @Remote -InDisconnectedSession -SessionName here { 'x'; 1 }
        (Receive-PSSession @Remote -Name here) | Should -Be @('x', 1) -Because 'the session of this PowerShell is received, not a copy of it'
        $r.State | Should -Be 'Opened' -Because 'as on Windows, receiving connects the session'
        Invoke-Command $r { 2 } | Should -Be 2
        Remove-PSSession $r -ErrorVariable removing
        $removing | Should -BeNullOrEmpty

        $p = Invoke-Command @Remote -InDisconnectedSession -SessionName piped { 'p' }
        Receive-PSSession -Session $p | Should -Be 'p'
        $p.State | Should -Be 'Opened'
        Remove-PSSession $p -ErrorVariable removing
        $removing | Should -BeNullOrEmpty
        Get-PSSession @Remote | Where-Object Name -In 'here', 'piped' | Should -BeNullOrEmpty

        # The instant session, left disconnected by the other PowerShell.
        Get-PSSession @Remote -Name instant | Remove-PSSession
    }
}
