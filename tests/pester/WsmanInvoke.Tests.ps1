# The module's Invoke-Command and Enter-PSSession over WS-Management against tests/wsman-endpoint
# (PowerShell's own WinRS server code behind a loopback WinRM stand-in, Basic authentication on HTTP
# with -NoEncryption): ad hoc -ComputerName/-ConnectionUri sessions that leave nothing behind, here or on
# the server; fan-out, jobs, disconnected sessions, $using, arguments, pipeline input, remote and open
# errors; the engine's own parameter sets unchanged; and Enter-PSSession -ComputerName in pwsh's console
# host (tmux, as EnterPSSession.Tests.ps1).
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1
    Import-Module (Get-ModuleManifest) -Force -ErrorAction Stop

    # The endpoint (tests/wsman-endpoint/README.md): prints "listening http=<port> https=<port>", stops at
    # EOF on stdin. Its stderr (one line per operation) is read asynchronously so that it never blocks.
    $psi = [Diagnostics.ProcessStartInfo]::new((Get-PwshPath))
    foreach ($a in '-NoProfile', '-NonInteractive', '-File', (Join-Path $script:Repo 'build/wsman-endpoint/Start-Endpoint.ps1'),
        '--user', 'ann', '--password', 'Pa55-word') { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $endpoint = [Diagnostics.Process]::Start($psi)
    $null = $endpoint.StandardError.ReadToEndAsync()
    $line = $endpoint.StandardOutput.ReadLineAsync()
    if (-not $line.Wait(60000) -or $line.Result -notmatch '^listening http=(\d+) https=(\d+)') {
        try { $endpoint.Kill($true) } catch { }
        throw 'The WS-Management endpoint did not report its ports'
    }
    $port = [int] $Matches[1]
    $httpsPort = [int] $Matches[2]
    $cred = [pscredential]::new('ann', [Net.NetworkCredential]::new('', 'Pa55-word').SecurePassword)
    $option = New-PSSessionOption -NoEncryption
    # The parameters every command here needs to reach the endpoint.
    $wsman = @{ Port = $port; Credential = $cred; Authentication = 'Basic'; SessionOption = $option }

    # The shells the endpoint keeps for the user (Get-PSSession -ComputerName asks the server).
    function Get-ServerSession {
        @(Get-PSSession -ComputerName 127.0.0.1 @wsman)
    }

    # Removes this runspace's sessions, here and on the server. Disconnected ones are connected first:
    # Remove-PSSession of a disconnected WS-Man session of the module throws NullReferenceException
    # (the engine's RemoteRunspace.Connect wants a WSManConnectionInfo).
    function Remove-AllSessions {
        Get-PSSession | Where-Object State -EQ Disconnected | Connect-PSSession | Out-Null
        Get-PSSession | Remove-PSSession
    }
}

AfterAll {
    Remove-AllSessions
    Get-Job | Remove-Job -Force
    if ($endpoint) {
        $endpoint.StandardInput.Close()
        if (-not $endpoint.WaitForExit(10000)) { $endpoint.Kill($true) }
    }
    Remove-Module RemoteSessions -ErrorAction SilentlyContinue
}

Describe 'Invoke-Command over WS-Management' {
    AfterEach {
        # Nothing a test leaves may leak into the next one's counts.
        Remove-AllSessions
    }

    It 'is the module''s command' {
        (Get-Command Invoke-Command).ModuleName | Should -Be 'RemoteSessions'
        (Get-Command Invoke-Command).ImplementingType.FullName | Should -Be 'Microsoft.PowerShell.Commands.InvokeCommandCommand'
    }

    It 'runs ad hoc with -ComputerName, marks the output as the engine does and leaves no session behind' {
        $out = Invoke-Command -ComputerName 127.0.0.1 @wsman { 'hello'; $PID }
        $out[0] | Should -Be 'hello'
        $out[1] | Should -Not -Be $PID
        $out[0].PSComputerName | Should -Be '127.0.0.1'
        $out[0].PSShowComputerName | Should -BeTrue
        $out[0].RunspaceId | Should -BeOfType [guid]
        Get-PSSession | Should -BeNullOrEmpty
        Get-ServerSession | Should -BeNullOrEmpty
    }

    It 'runs with -ConnectionUri and hides the computer name with -HideComputerName' {
        $out = Invoke-Command -ConnectionUri "http://127.0.0.1:$port/wsman" -Credential $cred -Authentication Basic -SessionOption $option { 6 * 7 } -HideComputerName
        $out | Should -Be 42
        $out.PSShowComputerName | Should -BeFalse
        Get-ServerSession | Should -BeNullOrEmpty
    }

    It 'runs over HTTPS with -UseSSL' {
        # The endpoint's certificate is self-signed.
        $tls = New-PSSessionOption -SkipCACheck -SkipCNCheck -SkipRevocationCheck
        $out = Invoke-Command -ComputerName localhost -UseSSL -Port $httpsPort -Credential $cred -Authentication Basic -SessionOption $tls { 'over tls' }
        $out | Should -Be 'over tls'
        $out.PSComputerName | Should -Be 'localhost'
    }

    It 'runs a local script file with -FilePath, by computer name and by URI' {
        $file = Join-Path $TestDrive 'remote.ps1'
        Set-Content -LiteralPath $file -Value 'param($a) "file $a on $env:COMPUTERNAME$PID"'
        $byName = Invoke-Command -ComputerName 127.0.0.1 @wsman -FilePath $file -ArgumentList 1
        $byName | Should -Match '^file 1 on '
        $byName | Should -Not -Be "file 1 on $env:COMPUTERNAME$PID"
        Invoke-Command -ConnectionUri "http://127.0.0.1:$port/wsman" -Credential $cred -Authentication Basic -SessionOption $option -FilePath $file -ArgumentList 2 |
            Should -Match '^file 2 on '
        Get-ServerSession | Should -BeNullOrEmpty
    }

    It 'fans out to two computer names with -ThrottleLimit' {
        $out = Invoke-Command -ComputerName 127.0.0.1, localhost @wsman -ThrottleLimit 1 { "from $PID" }
        $out.Count | Should -Be 2
        $out.PSComputerName | Sort-Object | Should -Be @('127.0.0.1', 'localhost')
        ($out.RunspaceId | Select-Object -Unique).Count | Should -Be 2
        Get-PSSession | Should -BeNullOrEmpty
        Get-ServerSession | Should -BeNullOrEmpty
    }

    It 'sends $using: values from the caller''s scope' {
        $v = 3
        $p = 'not the parameters'
        Invoke-Command -ComputerName 127.0.0.1 @wsman { $using:v * 2; $using:p } | Should -Be @(6, 'not the parameters')
        & { $inner = 'child scope'; Invoke-Command -ComputerName 127.0.0.1 @wsman { $using:inner } } | Should -Be 'child scope'
    }

    It 'passes -ArgumentList, -InputObject and pipeline input, one object at a time' {
        Invoke-Command -ComputerName 127.0.0.1 @wsman { param($a, $b) $a + $b } -ArgumentList 2, 5 | Should -Be 7
        Invoke-Command -ComputerName 127.0.0.1 @wsman { "got $input" } -InputObject 'x' | Should -Be 'got x'
        $seen = [Collections.Generic.List[object]]::new()
        1..3 | ForEach-Object { $seen.Add("sent $_"); $_ } |
            Invoke-Command -ComputerName 127.0.0.1 @wsman { process { $_ * 10 } } |
            ForEach-Object { $seen.Add("got $_") }
        $seen[0] | Should -Be 'sent 1'
        $seen -match '^got' | Should -Be @('got 10', 'got 20', 'got 30')
    }

    It 'writes a remote error as the engine''s RemotingErrorRecord' {
        $out = Invoke-Command -ComputerName 127.0.0.1 @wsman { Write-Error 'boom'; 'after' } -ErrorVariable ev -ErrorAction SilentlyContinue
        $out | Should -Be 'after'
        $ev.Count | Should -Be 1
        $ev[0] | Should -BeOfType ([System.Management.Automation.Runspaces.RemotingErrorRecord])
        $ev[0].OriginInfo.PSComputerName | Should -Be '127.0.0.1'
        $ev[0].Exception.Message | Should -Be 'boom'
    }

    It 'writes one open error per computer for a wrong password and goes on with the others' {
        $bad = [pscredential]::new('ann', [Net.NetworkCredential]::new('', 'wrong').SecurePassword)
        $out = Invoke-Command -ComputerName 127.0.0.1, localhost -Port $port -Credential $bad -Authentication Basic -SessionOption $option { 1 } -ErrorVariable ev -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $ev.Count | Should -Be 2
        $ev.TargetObject | Should -Be @('127.0.0.1', 'localhost')
        # As Windows' Invoke-Command for an HTTP 401: the transport's ERROR_ACCESS_DENIED (5) prefixes the id.
        $ev | ForEach-Object {
            $_.FullyQualifiedErrorId | Should -BeExactly 'AccessDenied,PSSessionStateBroken'
            $_.CategoryInfo.Category | Should -Be 'OpenError'
            $_.Exception | Should -BeOfType ([System.Management.Automation.Remoting.PSRemotingTransportException])
            $_.Exception.ErrorCode | Should -Be 5
            $message = "Connecting to remote server $($_.TargetObject) failed with the following error message : Access is denied. For more information, see the about_Remote_Troubleshooting Help topic."
            $_.Exception.Message | Should -BeExactly $message
            $_.ErrorDetails.Message | Should -BeExactly "[$($_.TargetObject)] $message"
            $_ | Out-String | Should -Not -Match 'wrong'
        }
        Get-PSSession | Should -BeNullOrEmpty
    }

    It 'runs -AsJob and closes the sessions when the job has finished' {
        $job = Invoke-Command -ComputerName 127.0.0.1, localhost @wsman { Start-Sleep -Milliseconds 300; 'job' } -AsJob -JobName wsjob
        $job.Name | Should -Be 'wsjob'
        $job.PSJobTypeName | Should -Be 'RemoteJob'
        $job.ChildJobs.Count | Should -Be 2
        $job | Wait-Job -Timeout 30 | Receive-Job | Should -Be @('job', 'job')
        Wait-Until { (Get-ServerSession).Count -eq 0 } | Should -BeTrue
        Get-PSSession | Should -BeNullOrEmpty
        $job | Remove-Job
    }

    It 'leaves -InDisconnectedSession sessions disconnected, here and on the server' {
        $sessions = Invoke-Command -ComputerName 127.0.0.1, localhost @wsman { Start-Sleep 1; 'later' } -InDisconnectedSession -SessionName one, two
        $sessions.Count | Should -Be 2
        $sessions | ForEach-Object { $_ | Should -BeOfType ([System.Management.Automation.Runspaces.PSSession]) }
        $sessions.State | Should -Be @('Disconnected', 'Disconnected')
        $sessions.Name | Should -Be @('one', 'two')
        (Get-PSSession).Name | Sort-Object | Should -Be @('one', 'two')
        Get-Job | Should -BeNullOrEmpty
        $server = Get-ServerSession
        $server.Name | Sort-Object | Should -Be @('one', 'two')
        $server.State | Should -Be @('Disconnected', 'Disconnected')
    }

    It 'refuses -AsJob with -InDisconnectedSession as the engine does' {
        { Invoke-Command -ComputerName 127.0.0.1 @wsman { 1 } -AsJob -InDisconnectedSession } |
            Should -Throw -ErrorId 'System.InvalidOperationException,Microsoft.PowerShell.Commands.InvokeCommandCommand' -ExpectedMessage '*both the AsJob and Disconnected*'
        Get-ServerSession | Should -BeNullOrEmpty
    }
}

Describe 'Invoke-Command''s other parameter sets are the engine''s' {
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'runs in process, with -NoNewScope in the caller''s scope, and with pipeline input' {
        Invoke-Command { 1 } | Should -Be 1
        Invoke-Command -NoNewScope { $setHere = 'set' }
        $setHere | Should -Be 'set'
        1..3 | Invoke-Command { $input | ForEach-Object { $_ + 1 } } | Should -Be @(2, 3, 4)
        Invoke-Command { param($a) $a } -ArgumentList 'arg' | Should -Be 'arg'
    }

    It 'gives what the engine''s own gives for <Case>' -ForEach @(
        @{ Case = 'a script block'; Run = { param($ic) & $ic { 1, 'two' } } }
        @{ Case = '$using in process'; Run = { param($ic) $w = 4; try { & $ic { $using:w } } catch { $_.FullyQualifiedErrorId } } }
        @{ Case = 'pipeline input and $_'; Run = { param($ic) 1..3 | & $ic { process { "[$_]" } } } }
        @{ Case = 'a missing -Session'; Run = { param($ic) try { & $ic -Session $null { 1 } } catch { $_.FullyQualifiedErrorId -replace ',.*' } } }
        @{ Case = '-FilePath without a session'; Run = { param($ic) try { & $ic -FilePath /nonexistent.ps1 } catch { $_.FullyQualifiedErrorId -replace ',.*' } } }
    ) {
        $mine = & $Run (Get-Command Invoke-Command)
        $engine = & $Run (Get-Command Microsoft.PowerShell.Core\Invoke-Command)
        (Get-Command Invoke-Command).ModuleName | Should -Be 'RemoteSessions'
        $mine | Should -Be $engine
    }

    It 'runs in a process session from New-PSSession, with $using and pipeline input' {
        $s = New-PSSession
        $v = 5
        $out = Invoke-Command -Session $s { $using:v + 1 }
        $out | Should -Be 6
        $out.PSComputerName | Should -Be 'localhost'
        1..2 | Invoke-Command $s { process { $_ * 2 } } | Should -Be @(2, 4)
        $s.State | Should -Be 'Opened'
    }
}

Describe 'Enter-PSSession -ComputerName errors' {
    It 'writes CreateRemoteRunspaceFailed for a wrong password and opens nothing' {
        $bad = [pscredential]::new('ann', [Net.NetworkCredential]::new('', 'wrong').SecurePassword)
        Enter-PSSession -ComputerName 127.0.0.1 -Port $port -Credential $bad -Authentication Basic -SessionOption $option -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev.Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand'
        $ev[0].TargetObject | Should -Be '127.0.0.1'
        Get-PSSession | Should -BeNullOrEmpty
    }

    It 'fails as the engine''s does in a host without interactive sessions, and closes the session it opened' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                param($manifest, $wsman)
                Import-Module $manifest
                try { Enter-PSSession -ComputerName 127.0.0.1 @wsman } catch { $_.FullyQualifiedErrorId }
                # The session leaves Get-PSSession through an engine event, whose action runs between
                # statements: give it a few (a bound on waiting, not a timing assertion).
                for ($i = 0; $i -lt 100 -and @(Get-PSSession).Count; $i++) { Start-Sleep -Milliseconds 50 }
                @(Get-PSSession).Count
            }).AddArgument((Get-ModuleManifest)).AddArgument($wsman)
            $out = $ps.Invoke()
        } finally {
            $ps.Dispose()
        }
        # The engine's own Enter-PSSession -Session in such a host: NotImplemented (PSNotImplementedException
        # from the engine's InternalHost.PushRunspace), after which it closes the temporary session. That
        # Close, right after the open, often fails in the transport (a Receive answered "plugin operation is
        # shutting down" is raised as an error: New-PSSession -ComputerName then $s.Runspace.Close() at once fails
        # the same way), and then the error is the Close's own.
        $out[0] | Should -Match '^(NotImplemented|System\.Management\.Automation\.Remoting\.PSRemoting\w+Exception),Microsoft\.PowerShell\.Commands\.EnterPSSessionCommand$'
        $out[1] | Should -Be 0
        Wait-Until { (Get-ServerSession).Count -eq 0 } | Should -BeTrue
    }
}

Describe 'Enter-PSSession -ComputerName in pwsh''s console host' {
    BeforeAll {
        $work = (New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "rsess-wsenter-$([guid]::NewGuid().ToString('N'))")).FullName
        $socket = Join-Path $work 'tmux.sock'
        function Invoke-Tmux {
            $out = & tmux -S $socket @args
            if ($LASTEXITCODE -ne 0) { throw "tmux $args failed ($LASTEXITCODE)" }
            $out
        }
        function Send-Line([string] $Pane, [string] $Text) {
            Invoke-Tmux send-keys -t $Pane -l $Text
            Invoke-Tmux send-keys -t $Pane Enter
        }
        function Get-Screen([string] $Pane) {
            (Invoke-Tmux capture-pane -p -t $Pane -S -500 | ForEach-Object TrimEnd) -join "`n"
        }
        function Wait-Screen([string] $Pane, [string] $Pattern) {
            if (-not (Wait-Until { (Get-Screen $Pane) -match $Pattern } -Tries 600)) {
                throw "The console never showed /$Pattern/. Screen:`n$(Get-Screen $Pane)"
            }
            [regex]::Match((Get-Screen $Pane), $Pattern)
        }
    }

    AfterAll {
        & tmux -S $socket kill-server 2>$null
        Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    }

    It 'enters a temporary session, runs a typed command in the server and closes it at Exit-PSSession' {
        Invoke-Tmux new-session -d -s wsenter -x 200 -y 50 -e "XDG_DATA_HOME=$work" -- (Get-PwshPath) -NoLogo -NoProfile
        $pane = 'wsenter:0.0'
        Wait-Screen $pane '(?m)^PS [^\n]*> ?$' | Out-Null
        Send-Line $pane "Import-Module '$(Get-ModuleManifest)'"
        Send-Line $pane "`$c = [pscredential]::new('ann', (ConvertTo-SecureString 'Pa55-word' -AsPlainText -Force))"
        Send-Line $pane "Enter-PSSession -ComputerName 127.0.0.1 -Port $port -Credential `$c -Authentication Basic -SessionOption (New-PSSessionOption -NoEncryption)"
        Wait-Screen $pane '(?m)^\[127\.0\.0\.1\]: PS [^\n]*> ?$' | Out-Null
        Send-Line $pane "'remote-' + 'pid:' + `$PID"
        $remote = [int] (Wait-Screen $pane '(?m)^remote-pid:(\d+)$').Groups[1].Value
        Get-Screen $pane | Should -Match '(?m)^\[127\.0\.0\.1\]: PS [^\n>]*> ''remote-'' \+ ''pid:'' \+ \$PID$'
        (Get-ServerSession).Count | Should -Be 1

        Send-Line $pane 'Exit-PSSession'
        # Nothing left in Get-PSSession, nor in the event queue the module used to take the session out.
        # The session leaves Get-PSSession through an engine event whose action runs between statements.
        Send-Line $pane "for (`$i = 0; `$i -lt 100 -and @(Get-PSSession).Count; `$i++) { Start-Sleep -Milliseconds 50 }; 'local-' + 'pid:' + `$PID + '-sessions:' + @(Get-PSSession).Count + '-events:' + @(Get-Event).Count"
        # (No end anchor: under load the transport can print a late Receive fault of the closed shell
        # across this line; the values are what matters here.)
        $local = Wait-Screen $pane '(?m)^local-pid:(\d+)-sessions:(\d+)-events:(\d+)'
        [int] $local.Groups[1].Value | Should -Not -Be $remote
        [int] $local.Groups[2].Value | Should -Be 0
        [int] $local.Groups[3].Value | Should -Be 0
        Wait-Until { (Get-ServerSession).Count -eq 0 } | Should -BeTrue
        Send-Line $pane 'exit'
    }
}
