# Dot-sourced by the Pester files (in BeforeAll): where the built module is, and the peers the tests
# start on loopback for themselves. The PowerShell counterpart of tests/common/ReplayServer.cs and
# tests/common/SshServer.cs, which start the same peers for the xunit tests.

$script:Repo = [IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../..'))

# The manifest under test: RSESS_MODULE_PATH, else the one tests/build.sh builds.
function Get-ModuleManifest {
    if ($env:RSESS_MODULE_PATH) { return $env:RSESS_MODULE_PATH }
    Join-Path $script:Repo 'build/module/RemoteSessions/RemoteSessions.psd1'
}

# The pwsh the sessions' servers run: the first on PATH, as New-PSSession's default (tests/env.sh puts
# the one tests/setup.sh installed first). The running pwsh's own path is no help: a pwsh installed as a
# .NET tool reports the dotnet host as its process path.
function Get-PwshPath {
    (Get-Command pwsh -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
}

# A TCP port that nothing listens on at the moment (the OS picks it; the listener is closed again).
function Get-FreePort {
    $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $l.Start()
    try { $l.LocalEndpoint.Port } finally { $l.Stop() }
}

function Test-PortAccepts([int] $Port) {
    $c = [Net.Sockets.TcpClient]::new()
    try { $c.Connect([Net.IPAddress]::Loopback, $Port); $true } catch { $false } finally { $c.Dispose() }
}

# Polls $Condition (a script block) until it returns something true, for at most about $Tries x 100 ms;
# returns whether it did. Peers start and stop asynchronously; this is a bound on waiting, not a timing
# assertion.
function Wait-Until([scriptblock] $Condition, [int] $Tries = 100) {
    for ($i = 0; $i -lt $Tries; $i++) {
        if (& $Condition) { return $true }
        Start-Sleep -Milliseconds 100
    }
    $false
}

# The WS-Management replay server (tests/replay-server) on an OS-chosen 127.0.0.1 port, answering from
# the recorded traffic in ../shared/fixtures (RSESS_FIXTURES overrides). Returns an object with Port, User,
# Credential and Process; stop it with Stop-ReplayServer. With -ClientCa (a CA certificate PEM, e.g. from
# tests/client-certs.sh) it also listens on an HTTPS port that requires a client certificate that CA
# issued, returned as MutualPort. Its stderr (the explanation of any request that
# matched no recording) goes to the test log.
function Start-ReplayServer {
    param([string] $User = 'rsess', [string] $Password = 'Replay-Pa55', [string] $ClientCa)
    $exe = if ($env:RSESS_REPLAY_SERVER) { $env:RSESS_REPLAY_SERVER } else { Join-Path $script:Repo 'build/replay-server/rsess-replay' }
    $fixtures = if ($env:RSESS_FIXTURES) { $env:RSESS_FIXTURES } else { [IO.Path]::GetFullPath((Join-Path $script:Repo '../shared/fixtures')) }
    if (-not (Test-Path $fixtures)) { throw "No fixtures at $fixtures (set RSESS_FIXTURES)" }
    $psi = [Diagnostics.ProcessStartInfo]::new($exe)
    foreach ($a in '--fixtures', $fixtures, '--user', $User, '--password', $Password) { $psi.ArgumentList.Add($a) }
    if ($ClientCa) { $psi.ArgumentList.Add('--client-ca'); $psi.ArgumentList.Add($ClientCa) }
    # The server exits when its stdin reaches EOF, so closing it stops the server and a test process
    # that dies leaves no orphan.
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($psi)
    $line = $process.StandardOutput.ReadLineAsync()
    if (-not $line.Wait(60000) -or $line.Result -notmatch '^listening http=(\d+)\S* https=\d+(?: mutual=(\d+))?') {
        try { $process.Kill($true) } catch { }
        throw "$exe did not report its port"
    }
    [pscustomobject]@{
        Process    = $process
        Port       = [int] $Matches[1]
        MutualPort = [int] $Matches[2]
        User       = $User
        # NetworkCredential makes the SecureString without putting the password on a command line.
        Credential = [pscredential]::new($User, [Net.NetworkCredential]::new('', $Password).SecurePassword)
    }
}

# The server's request log: one line per authenticated request, "<fixture | NOMATCH | ...> <action> <class>".
function Get-ReplayRequests($Server) {
    $text = (Invoke-WebRequest -Uri "http://127.0.0.1:$($Server.Port)/replay/requests" -UseBasicParsing).Content
    if ($text -is [byte[]]) { $text = [Text.Encoding]::UTF8.GetString($text) }
    @($text -split "`n" | Where-Object { $_ })
}

function Clear-ReplayRequests($Server) {
    Invoke-WebRequest -Method Delete -Uri "http://127.0.0.1:$($Server.Port)/replay/requests" -UseBasicParsing | Out-Null
}

function Stop-ReplayServer($Server) {
    if (-not $Server) { return }
    $p = $Server.Process
    try { $p.StandardInput.Close() } catch { }
    if (-not $p.WaitForExit(5000)) { try { $p.Kill($true); $p.WaitForExit(5000) } catch { } }
    $p.Dispose()
}

# Debian's sshd on a free 127.0.0.1 port with a configuration of its own: a throwaway host key and client
# key in a temporary directory, key authentication only, and a `powershell` subsystem running
# `<pwsh> -sshs`. Returns Port, KeyFile, Directory, Options (ssh options that trust the throwaway host
# key without touching ~/.ssh) and Process; stop it with Stop-SshServer.
function Start-SshServer {
    param([string] $Server = (Get-PwshPath))
    $dir = (New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "rsess-sshd-$([guid]::NewGuid().ToString('N'))")).FullName
    $port = Get-FreePort
    $key = Join-Path $dir 'client_key'
    foreach ($k in (Join-Path $dir 'host_key'), $key) {
        ssh-keygen -q -t ed25519 -N '' -f $k
        if ($LASTEXITCODE -ne 0) { throw "ssh-keygen failed for $k" }
    }
    Copy-Item "$key.pub" (Join-Path $dir 'authorized_keys')
    New-Item -ItemType Directory -Force -Path /run/sshd | Out-Null # sshd's privilege separation directory
    $config = Join-Path $dir 'sshd_config'
    # UsePAM no: no PAM session for a throwaway daemon; StrictModes no: the temporary directory's modes are
    # not those sshd wants for a home directory.
    Set-Content -Path $config -Value @(
        "Port $port"
        'ListenAddress 127.0.0.1'
        "HostKey $dir/host_key"
        "PidFile $dir/sshd.pid"
        "AuthorizedKeysFile $dir/authorized_keys"
        'PubkeyAuthentication yes'
        'PasswordAuthentication no'
        'KbdInteractiveAuthentication no'
        'PermitRootLogin prohibit-password'
        'UsePAM no'
        'StrictModes no'
        "Subsystem powershell $Server -sshs -NoLogo -NoProfile"
    )
    # -D: stay in the foreground as our child; -e: log to stderr, kept in the directory for diagnosis.
    $sshd = Start-Process -FilePath /usr/sbin/sshd -ArgumentList '-D', '-e', '-f', $config -PassThru `
        -RedirectStandardError (Join-Path $dir 'sshd.log')
    if (-not (Wait-Until { Test-PortAccepts $port })) {
        try { $sshd.Kill($true) } catch { }
        throw "sshd did not listen on port $port`n$(Get-Content (Join-Path $dir 'sshd.log') -Raw)"
    }
    [pscustomobject]@{
        Process   = $sshd
        Port      = $port
        KeyFile   = $key
        Directory = $dir
        Options   = @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
    }
}

# Kills the listening sshd and every per-connection sshd below it (with their subsystem servers), then
# deletes its directory.
function Stop-SshServer($Server) {
    if (-not $Server) { return }
    try { $Server.Process.Kill($true); $Server.Process.WaitForExit(5000) | Out-Null } catch { }
    Remove-Item -Recurse -Force $Server.Directory -ErrorAction SilentlyContinue
}

# Whether process $ProcessId has ended (gone, or a zombie waiting for its parent), waiting for it a while.
function Test-ProcessExited([int] $ProcessId) {
    Wait-Until {
        $stat = Get-Content "/proc/$ProcessId/stat" -Raw -ErrorAction SilentlyContinue
        -not $stat -or $stat -match '\) Z '
    } -Tries 50
}

# What the user sees of an error record: its details when set, else the exception's message.
function Get-Shown($e) { if ($e.ErrorDetails) { $e.ErrorDetails.Message } else { $e.Exception.Message } }

# The WS-Management (WinRS) test endpoint (tests/wsman-endpoint): PowerShell's own WSMan plugin behind a
# loopback WinRS listener on OS-chosen HTTP and HTTPS ports, Basic authentication as $User. Extra
# arguments go to the endpoint (--max-envelope-kb N, --min-idle-ms N). Returns Process, Port (HTTP),
# HttpsPort, User, Password, Credential and Log (its stderr: one line per operation, for diagnosis);
# stop it with Stop-WsmanEndpoint. It also stops at EOF on its stdin, so a test process that dies leaves
# no orphan.
function Start-WsmanEndpoint {
    param([string] $User = 'ann', [string] $Password = 'Wsman-Pa55', [string[]] $Arguments = @())
    $script = Join-Path $script:Repo 'build/wsman-endpoint/Start-Endpoint.ps1'
    if (-not (Test-Path $script)) { $script = Join-Path $script:Repo 'tests/wsman-endpoint/Start-Endpoint.ps1' }
    $psi = [Diagnostics.ProcessStartInfo]::new((Get-PwshPath))
    foreach ($a in @('-NoProfile', '-NonInteractive', '-File', $script, '--user', $User, '--password', $Password) + $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($psi)
    # The event log is drained into a file (a full pipe would stall the endpoint).
    $log = Join-Path ([IO.Path]::GetTempPath()) "rsess-wsman-endpoint-$($process.Id).log"
    $logStream = [IO.FileStream]::new($log, [IO.FileMode]::Create, [IO.FileAccess]::Write, [IO.FileShare]::ReadWrite, 1)
    $copy = $process.StandardError.BaseStream.CopyToAsync($logStream)
    $line = $process.StandardOutput.ReadLineAsync()
    if (-not $line.Wait(60000) -or $line.Result -notmatch '^listening http=(\d+) https=(\d+)') {
        try { $process.Kill($true) } catch { }
        throw "The WS-Management endpoint did not report its ports ($($line.Result))`n$(Get-Content $log -Raw -ErrorAction SilentlyContinue)"
    }
    [pscustomobject]@{
        Process    = $process
        Port       = [int] $Matches[1]
        HttpsPort  = [int] $Matches[2]
        User       = $User
        Password   = $Password
        Credential = [pscredential]::new($User, [Net.NetworkCredential]::new('', $Password).SecurePassword)
        Log        = $log
        LogStream  = $logStream
        LogCopy    = $copy
    }
}

function Stop-WsmanEndpoint($Endpoint) {
    if (-not $Endpoint) { return }
    $p = $Endpoint.Process
    try { $p.StandardInput.Close() } catch { }
    if (-not $p.WaitForExit(10000)) { try { $p.Kill($true); $p.WaitForExit(5000) } catch { } }
    try { $Endpoint.LogCopy.Wait(5000) | Out-Null } catch { }
    $Endpoint.LogStream.Dispose()
    $p.Dispose()
    Remove-Item $Endpoint.Log -ErrorAction SilentlyContinue
}

# A peer that runs until its stdin closes, once its first line matches $Ready (then in $Matches).
# Its stderr (one line per event) is drained into the file Log, readable while it runs.
function Start-Peer([string] $Exe, [string[]] $Arguments, [string] $Ready) {
    $psi = [Diagnostics.ProcessStartInfo]::new($Exe)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $log = Join-Path ([IO.Path]::GetTempPath()) "rsess-peer-$($p.Id).log"
    $logStream = [IO.FileStream]::new($log, [IO.FileMode]::Create, [IO.FileAccess]::Write, [IO.FileShare]::ReadWrite, 1)
    $copy = $p.StandardError.BaseStream.CopyToAsync($logStream)
    $line = $p.StandardOutput.ReadLineAsync()
    if (-not $line.Wait(60000) -or $line.Result -notmatch $Ready) {
        try { $p.Kill($true) } catch { }
        throw "$Exe did not start: $($line.Result)"
    }
    [pscustomobject]@{ Process = $p; Value = $Matches[1]; Log = $log; LogStream = $logStream; LogCopy = $copy }
}

function Stop-Peer($Peer) {
    if (-not $Peer) { return }
    try { $Peer.Process.StandardInput.Close() } catch { }
    if (-not $Peer.Process.WaitForExit(10000)) { try { $Peer.Process.Kill($true) } catch { } }
    try { $Peer.LogCopy.Wait(5000) | Out-Null } catch { }
    if ($Peer.LogStream) { $Peer.LogStream.Dispose() }
    Remove-Item $Peer.Log -ErrorAction SilentlyContinue
}

# The peer's event lines so far.
function Get-PeerLog($Peer) { @(Get-Content -LiteralPath $Peer.Log -ErrorAction SilentlyContinue) }

# The loopback MIT realm of tests/kdc.sh (a KDC, Kerberos and NTLM users), its variables (KRB5_CONFIG,
# NTLM_USER_FILE, ...) set in this process for the child pwsh processes that use it. Stop-LoopbackRealm
# stops it and puts the variables back as they were.
function Start-LoopbackRealm {
    $kdc = Start-Peer 'bash' @((Join-Path $script:Repo 'tests/kdc.sh'), '0') '^ready (.+)$'
    $saved = @{}
    foreach ($line in Get-Content (Join-Path $kdc.Value 'env')) {
        $name, $value = $line -split '=', 2
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        Set-Item "env:$name" $value
    }
    [pscustomobject]@{ Kdc = $kdc; Saved = $saved }
}

function Stop-LoopbackRealm($Realm) {
    if (-not $Realm) { return }
    Stop-Peer $Realm.Kdc
    foreach ($name in $Realm.Saved.Keys) { [Environment]::SetEnvironmentVariable($name, $Realm.Saved[$name]) }
}
