# Receive-PSSession and reconnecting from another PowerShell: a WS-Man session is disconnected in one pwsh
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
        $seen | Should -Contain 'after Disconnected'
        Remove-PSSession $s
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
        Remove-PSSession $s
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

    It 'says clearly when the session is not there, and refuses -OutTarget Job' {
        $seen = Invoke-OtherPwsh @'
Receive-PSSession @remote -Name nosuch -ErrorAction SilentlyContinue -ErrorVariable e
"$($e[0].FullyQualifiedErrorId) | $($e[0].CategoryInfo.Category)"
try { Receive-PSSession @remote -Name nosuch -OutTarget Job } catch { "$($_.FullyQualifiedErrorId) | $($_.CategoryInfo.Category)" }
Receive-PSSession -ComputerName 127.0.0.1 -Port 1 -Name x -Credential $remote.Credential -Authentication Basic -SessionOption $remote.SessionOption -ErrorAction SilentlyContinue -ErrorVariable q
"$($q[0].FullyQualifiedErrorId) | $($q[0].CategoryInfo.Category)"
'@
        $seen | Should -Contain 'ReceivePSSessionCannotFindSession,Microsoft.PowerShell.Commands.ReceivePSSessionCommand | ObjectNotFound'
        $seen | Should -Contain 'ReceivePSSessionOutTargetJobNotSupported,Microsoft.PowerShell.Commands.ReceivePSSessionCommand | NotImplemented'
        $seen | Should -Contain 'ReceivePSSessionQueryForSessionFailed,Microsoft.PowerShell.Commands.ReceivePSSessionCommand | InvalidOperation'
    }
}
