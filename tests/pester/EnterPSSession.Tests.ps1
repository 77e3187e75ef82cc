# Enter-PSSession and Exit-PSSession in pwsh's real console host, as a user types them: an interactive
# `pwsh -NoLogo -NoProfile` runs in a detached tmux session of a tmux server of our own; the test types
# with send-keys and reads the screen with capture-pane. Sessions over a local pwsh process, over SSH
# (Debian's sshd, started by this file on a free 127.0.0.1 port) and over WS-Management
# (tests/wsman-endpoint, likewise).
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1
    $sshd = Start-SshServer
    $work = (New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "rsess-console-$([guid]::NewGuid().ToString('N'))")).FullName
    # A socket of our own: the tests neither see nor disturb a tmux server the user runs.
    $socket = Join-Path $work 'tmux.sock'

    function Invoke-Tmux {
        $out = & tmux -S $socket @args
        if ($LASTEXITCODE -ne 0) { throw "tmux $args failed ($LASTEXITCODE)" }
        $out
    }

    # Types a line into the console and presses Enter (-l: the text is sent as is, not as key names).
    function Send-Line([string] $Pane, [string] $Text) {
        Invoke-Tmux send-keys -t $Pane -l $Text
        Invoke-Tmux send-keys -t $Pane Enter
    }

    # The console's screen and scrollback, one row a line, without the blanks PSReadLine writes to clear
    # the rest of a row (with -J those would join a row to the next one).
    function Get-Screen([string] $Pane) {
        (Invoke-Tmux capture-pane -p -t $Pane -S -500 | ForEach-Object TrimEnd) -join "`n"
    }

    # Waits until the screen matches $Pattern, then returns the match; fails with the screen otherwise.
    function Wait-Screen([string] $Pane, [string] $Pattern) {
        if (-not (Wait-Until { (Get-Screen $Pane) -match $Pattern } -Tries 600)) {
            throw "The console never showed /$Pattern/. Screen:`n$(Get-Screen $Pane)"
        }
        [regex]::Match((Get-Screen $Pane), $Pattern)
    }

    # Starts an interactive pwsh in a new tmux window; returns its pane and process id. XDG_DATA_HOME keeps
    # PSReadLine's history of these test commands out of the user's own.
    function Start-Console([string] $Name) {
        Invoke-Tmux new-session -d -s $Name -x 200 -y 50 -e "XDG_DATA_HOME=$work" -- (Get-PwshPath) -NoLogo -NoProfile
        $pane = "${Name}:0.0"
        Wait-Screen $pane '(?m)^PS [^\n]*> ?$' | Out-Null
        [pscustomobject]@{ Pane = $pane; ProcessId = [int] (Invoke-Tmux display-message -p -t $pane '#{pane_pid}') }
    }

    $newSession = @{
        Process = 'New-PSSession'
        SSH     = "New-PSSession -HostName localhost -Port $($sshd.Port) -KeyFilePath '$($sshd.KeyFile)' " +
                  "-Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }"
    }
}

AfterAll {
    # Ends every console of this file (and the sessions and servers they opened), then sshd.
    & tmux -S $socket kill-server 2>$null
    Stop-SshServer $sshd
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'Enter-PSSession in pwsh''s console host (<Kind>)' -ForEach @(
    @{ Kind = 'Process' }
    @{ Kind = 'SSH' }
) {
    It 'shows the remote prompt, runs typed commands in the server and comes back with Exit-PSSession' {
        $console = Start-Console "enter-$Kind"
        $pane = $console.Pane
        Send-Line $pane "Import-Module '$(Get-ModuleManifest)'"
        Send-Line $pane "`$s = $($newSession[$Kind])"
        # Markers are built from two strings so that the typed command line itself does not match.
        # pwsh's own New-PSSession also speaks SSH: the session must be the module's.
        Send-Line $pane "'opened-' + `$s.State + '-' + (Get-Command New-PSSession).ModuleName"
        Wait-Screen $pane '(?m)^opened-(\S+)$' | ForEach-Object { $_.Groups[1].Value } | Should -Be 'Opened-RemoteSessions'

        Send-Line $pane 'Enter-PSSession $s'
        Wait-Screen $pane '(?m)^\[localhost\]: PS [^\n]*> ?$' | Out-Null
        Send-Line $pane '"remote-pid:$PID"'
        $remote = [int] (Wait-Screen $pane '(?m)^remote-pid:(\d+)$').Groups[1].Value
        # The prompt the user typed at is the remote one: "[localhost]: PS <location>> ".
        Get-Screen $pane | Should -Match '(?m)^\[localhost\]: PS [^\n>]*> "remote-pid:\$PID"$'
        $remote | Should -Not -Be $console.ProcessId
        Send-Line $pane '$kept = ''kept'''

        Send-Line $pane 'Exit-PSSession'
        Send-Line $pane '"local-pid:$PID"'
        $local = [int] (Wait-Screen $pane '(?m)^local-pid:(\d+)$').Groups[1].Value
        $local | Should -Be $console.ProcessId
        Get-Screen $pane | Should -Match '(?m)^PS [^\n>]*> "local-pid:\$PID"$'

        # The session stays open after Exit-PSSession, with what was done in it.
        Send-Line $pane "'after-' + `$s.State + '-' + (Invoke-Command `$s { `$kept }) + '-' + (Invoke-Command `$s { `$PID })"
        Wait-Screen $pane '(?m)^after-[^\n]+$' | ForEach-Object Value | Should -Be "after-Opened-kept-$remote"

        Send-Line $pane 'Remove-PSSession $s; exit'
        Test-ProcessExited $console.ProcessId | Should -BeTrue
        Test-ProcessExited $remote | Should -BeTrue
    }
}

# The same over WS-Management: a session of tests/wsman-endpoint (PowerShell's own WSMan plugin behind a
# loopback WinRS listener, started here), whose shells run in the endpoint's pwsh process.
Describe 'Enter-PSSession in pwsh''s console host (WSMan)' {
    BeforeAll { $ep = Start-WsmanEndpoint }
    AfterAll { Stop-WsmanEndpoint $ep }

    It 'shows the [127.0.0.1] prompt, runs typed commands in the endpoint and comes back with Exit-PSSession' {
        $console = Start-Console 'enter-WSMan'
        $pane = $console.Pane
        Send-Line $pane "Import-Module '$(Get-ModuleManifest)'"
        # The test password is typed into the console (a throwaway for this endpoint only).
        Send-Line $pane "`$c = [pscredential]::new('$($ep.User)', (ConvertTo-SecureString '$($ep.Password)' -AsPlainText -Force))"
        Send-Line $pane "`$s = New-PSSession -ComputerName 127.0.0.1 -Port $($ep.Port) -Credential `$c -Authentication Basic -SessionOption (New-PSSessionOption -NoEncryption) -Name console"
        Send-Line $pane "'opened-' + `$s.State + '-' + `$s.Transport + '-' + `$s.ConfigurationName"
        Wait-Screen $pane '(?m)^opened-(\S+)$' | ForEach-Object { $_.Groups[1].Value } | Should -Be 'Opened-WSMan-Microsoft.PowerShell'

        Send-Line $pane 'Enter-PSSession -Session $s'
        Wait-Screen $pane '(?m)^\[127\.0\.0\.1\]: PS [^\n]*> ?$' | Out-Null
        Send-Line $pane '"remote-pid:$PID"'
        [int] (Wait-Screen $pane '(?m)^remote-pid:(\d+)$').Groups[1].Value | Should -Be $ep.Process.Id
        Get-Screen $pane | Should -Match '(?m)^\[127\.0\.0\.1\]: PS [^\n>]*> "remote-pid:\$PID"$'
        Send-Line $pane '"remote-version:" + $PSVersionTable.PSVersion'
        (Wait-Screen $pane '(?m)^remote-version:(\S+)$').Groups[1].Value | Should -Be "$($PSVersionTable.PSVersion)"
        Send-Line $pane '"remote-host:" + [Environment]::MachineName'
        (Wait-Screen $pane '(?m)^remote-host:(\S+)$').Groups[1].Value | Should -Be ([Environment]::MachineName)
        Send-Line $pane '$kept = ''kept'''

        Send-Line $pane 'Exit-PSSession'
        Send-Line $pane '"local-pid:$PID"'
        [int] (Wait-Screen $pane '(?m)^local-pid:(\d+)$').Groups[1].Value | Should -Be $console.ProcessId
        Get-Screen $pane | Should -Match '(?m)^PS [^\n>]*> "local-pid:\$PID"$'

        # The session stays open after Exit-PSSession, with what was done in it.
        Send-Line $pane "'after-' + `$s.State + '-' + (Invoke-Command `$s { `$kept })"
        Wait-Screen $pane '(?m)^after-[^\n]+$' | ForEach-Object Value | Should -Be 'after-Opened-kept'

        # A disconnected session is connected again to be entered, as on Windows.
        Send-Line $pane "'disconnected-' + (Disconnect-PSSession `$s).State"
        Wait-Screen $pane '(?m)^disconnected-\S+$' | ForEach-Object Value | Should -Be 'disconnected-Disconnected'
        Send-Line $pane 'Enter-PSSession $s'
        Wait-Screen $pane '(?m)^\[127\.0\.0\.1\]: PS [^\n]*> ?$' | Out-Null
        Send-Line $pane '"again:$kept"'
        Wait-Screen $pane '(?m)^again:\S+$' | ForEach-Object Value | Should -Be 'again:kept'
        Send-Line $pane 'Exit-PSSession'
        Send-Line $pane "'back-' + `$s.State"
        Wait-Screen $pane '(?m)^back-\S+$' | ForEach-Object Value | Should -Be 'back-Opened'

        Send-Line $pane 'Remove-PSSession $s; exit'
        Test-ProcessExited $console.ProcessId | Should -BeTrue
    }
}
