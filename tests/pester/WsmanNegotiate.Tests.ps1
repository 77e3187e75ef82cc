# PSSessions over WS-Management (New-PSSession -ComputerName, Invoke-Command, Disconnect-/Connect-PSSession,
# Get-PSSession -ComputerName, Remove-PSSession) with -Authentication Negotiate and Kerberos, every message
# sealed (MS-WSMV 2.2.9.1), as a user runs them. tests/negotiate-server in its --upstream mode is the
# front: it authenticates the client with Negotiate/Kerberos/NTLM (.NET NegotiateAuthentication through
# the system GSSAPI, in the loopback MIT realm of tests/kdc.sh), refuses and counts any request that is
# not sealed, opens each request and forwards its SOAP with Basic to tests/wsman-endpoint (PowerShell's
# own WSMan plugin), and seals the reply back. PowerShell's AuthenticationMechanism has no NTLM member:
# NTLM is Negotiate with the realm's NTLM-only user (RSESS\ann, whose NTLM password Kerberos does not
# know), as Negotiate.Tests.ps1 uses it.
# MIT Kerberos and gss-ntlmssp read their settings (KRB5_CONFIG, ...) with getenv(3), which does not see
# $env: changes made in a running pwsh, so the sessions are made in child pwsh processes that inherit
# the realm's environment (as in Negotiate.Tests.ps1).
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1

    $realm = Start-LoopbackRealm
    $ep = Start-WsmanEndpoint
    $front = Start-Peer (Join-Path $Repo 'build/negotiate-server/rsess-negotiate') @(
        '--upstream', "http://127.0.0.1:$($ep.Port)/wsman", '--upstream-user', $ep.User, '--upstream-password', $ep.Password) '^listening http=(\d+)'
    $port = [int] $front.Value
    $manifest = Get-ModuleManifest

    # Runs $Script in a new pwsh with the module imported, $port set and errors terminating; returns
    # its output (and error) lines as text.
    function Invoke-Child([string] $Script) {
        $prelude = "`$ErrorActionPreference = 'Stop'; Import-Module '$manifest'; `$port = $port`n" +
            "function Cred(`$u, `$p) { [pscredential]::new(`$u, (ConvertTo-SecureString `$p -AsPlainText -Force)) }`n"
        & (Get-PwshPath) -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1 | ForEach-Object { "$_" }
    }

    # The whole life of one session with -Authentication $Mechanism as $User, one line per step.
    function Invoke-SessionLife([string] $Mechanism, [string] $User, [string] $Password, [string] $Name) {
        Invoke-Child @"
`$c = Cred '$User' '$Password'
`$at = @{ ComputerName = '127.0.0.1'; Port = `$port; Authentication = '$Mechanism'; Credential = `$c }
`$s = New-PSSession @at -Name '$Name'
"open `$(`$s.Transport) `$(`$s.State) `$(`$s.ComputerName)"
Invoke-Command -Session `$s { `$x = 5 }
"state `$(Invoke-Command -Session `$s { `$x })"
# The front's sealed requests and the endpoint's answered Receives while the large output comes.
function Count(`$log, `$pattern) { @(Get-Content -LiteralPath `$log | Select-String `$pattern).Count }
`$sealed, `$receives = (Count '$($front.Log)' 'sealed \w+ request'), (Count '$($ep.Log)' ': Receive shell .* -> 200')
`$big = Invoke-Command -Session `$s { 1..20000 }
"big `$(`$big.Count) `$((`$big | Measure-Object -Sum).Sum) `$(`$big[-1])"
"big-requests `$((Count '$($front.Log)' 'sealed \w+ request') - `$sealed) `$((Count '$($ep.Log)' ': Receive shell .* -> 200') - `$receives)"
`$null = Disconnect-PSSession `$s -IdleTimeoutSec 600
"disconnected `$(`$s.State)"
"listed `$(@(Get-PSSession @at -Name '$Name' | ForEach-Object { "`$(`$_.Name):`$(`$_.State)" }) -join ',')"
`$null = Connect-PSSession `$s
"connected `$(`$s.State) `$(Invoke-Command -Session `$s { `$x * 2 })"
"listed `$(@(Get-PSSession @at -Name '$Name' | ForEach-Object { "`$(`$_.Name):`$(`$_.State):`$(`$_.InstanceId -eq `$s.InstanceId)" }) -join ',')"
Remove-PSSession `$s
"removed `$(`$s.State) `$(@(Get-PSSession @at -Name '$Name').Count)"
"@
    }

    # The front's lines since line $From: no violations, and the sealed requests of $Package.
    function Get-FrontSince([int] $From) { @(Get-PeerLog $front | Select-Object -Skip $From) }
}

AfterAll {
    Stop-Peer $front
    Stop-WsmanEndpoint $ep
    Stop-LoopbackRealm $realm
}

Describe 'PSSessions over WS-Management with Negotiate, Kerberos and NTLM, every message sealed' {
    It 'runs a whole session with -Authentication <Mechanism> as <User> (<Package>)' -ForEach @(
        @{ Mechanism = 'Negotiate'; User = 'ann@RSESS.TEST'; Password = 'Ann-Krb-Pa55'; Package = 'Kerberos'; Name = 'nego-krb' }
        @{ Mechanism = 'Kerberos'; User = 'ann@RSESS.TEST'; Password = 'Ann-Krb-Pa55'; Package = 'Kerberos'; Name = 'krb' }
        @{ Mechanism = 'Negotiate'; User = 'RSESS\ann'; Password = 'Ann-Ntlm-Pa55'; Package = 'NTLM'; Name = 'nego-ntlm' }
    ) {
        $from = (Get-PeerLog $front).Count
        $out = Invoke-SessionLife $Mechanism $User $Password $Name
        # The large output came in several Receives, each a sealed request through the front.
        $counts = @($out -match '^big-requests ')
        $counts.Count | Should -Be 1 -Because ($out -join "`n")
        $null, $sealed, $receives = -split $counts[0]
        [int] $receives | Should -BeGreaterOrEqual 2
        [int] $sealed | Should -BeGreaterOrEqual ([int] $receives)
        @($out -notmatch '^big-requests ') | Should -Be @(
            'open WSMan Opened 127.0.0.1'
            'state 5'
            'big 20000 200010000 20000'
            'disconnected Disconnected'
            "listed ${Name}:Disconnected"
            'connected Opened 10'
            "listed ${Name}:Opened:True"
            'removed Closed 0'
        )
        # The front saw every request sealed with this mechanism's package, and nothing in clear text.
        $log = Get-FrontSince $from
        $log | Should -Not -Match 'VIOLATION'
        # (Nor did forwarding fail: the front's upstream HttpClient cut no long-polling Receive.)
        $log | Should -Not -Match 'TaskCanceledException|HttpRequestException'
        @($log -match "authenticated $Package ").Count | Should -BeGreaterThan 0
        @($log -match "sealed $Package request").Count | Should -BeGreaterThan 10
        @($log -match 'sealed (?!' + $Package + ' )\w+ request').Count | Should -Be 0
    }

    It 'means Negotiate without -Authentication, as Windows does' {
        $from = (Get-PeerLog $front).Count
        $out = Invoke-Child @'
$s = New-PSSession -ComputerName 127.0.0.1 -Port $port -Credential (Cred 'RSESS\ann' 'Ann-Ntlm-Pa55')
"$($s.Transport) $($s.State) $(Invoke-Command -Session $s { 6 * 7 })"
Remove-PSSession $s
"$($s.State)"
'@
        $out | Should -Be @('WSMan Opened 42', 'Closed')
        $log = Get-FrontSince $from
        $log | Should -Not -Match 'VIOLATION'
        @($log -match 'authenticated NTLM RSESS\\ann ').Count | Should -BeGreaterThan 0
    }

    It 'runs ad hoc commands, and reconnects from another pwsh to a session disconnected in one (<Mechanism> as <User>)' -ForEach @(
        @{ Mechanism = 'Kerberos'; User = 'ann@RSESS.TEST'; Password = 'Ann-Krb-Pa55'; Name = 'roam-krb' }
        @{ Mechanism = 'Negotiate'; User = 'RSESS\ann'; Password = 'Ann-Ntlm-Pa55'; Name = 'roam-ntlm' }
    ) {
        $from = (Get-PeerLog $front).Count
        $at = "`$at = @{ ComputerName = '127.0.0.1'; Port = `$port; Authentication = '$Mechanism'; Credential = (Cred '$User' '$Password') }`n"
        $first = Invoke-Child ($at + @"
"adhoc `$(Invoke-Command @at { 6 * 7 })"
`$s = New-PSSession @at -Name '$Name'
Invoke-Command -Session `$s { `$x = 9 }
"parked `$((Disconnect-PSSession `$s -IdleTimeoutSec 600).State)"
"@)
        $first | Should -Be @('adhoc 42', 'parked Disconnected')
        $second = Invoke-Child ($at + @"
"listed `$(@(Get-PSSession @at -Name '$Name' | ForEach-Object { "`$(`$_.Name):`$(`$_.State)" }) -join ',')"
`$s = Connect-PSSession @at -Name '$Name'
"connected `$(`$s.State) `$(Invoke-Command -Session `$s { `$x })"
Remove-PSSession `$s
"removed `$(@(Get-PSSession @at -Name '$Name').Count)"
"@)
        $second | Should -Be @("listed ${Name}:Disconnected", 'connected Opened 9', 'removed 0')
        Get-FrontSince $from | Should -Not -Match 'VIOLATION'
    }

    It 'refuses a wrong password with -Authentication <Mechanism> as <User>: AccessDenied, without the password' -ForEach @(
        @{ Mechanism = 'Negotiate'; User = 'RSESS\ann' }
        @{ Mechanism = 'Kerberos'; User = 'ann@RSESS.TEST' }
        @{ Mechanism = 'Negotiate'; User = 'ann@RSESS.TEST' }
    ) {
        $out = Invoke-Child @"
New-PSSession -ComputerName 127.0.0.1 -Port `$port -Authentication $Mechanism -Credential (Cred '$User' 'Wrong-Pa55') -ErrorVariable e -ErrorAction SilentlyContinue
"count `$(`$e.Count)"
"id `$(`$e[0].FullyQualifiedErrorId)"
"category `$(`$e[0].CategoryInfo.Category)"
"type `$(`$e[0].Exception.GetType().FullName) `$(`$e[0].Exception.ErrorCode)"
"shown `$(`$e[0] | Out-String)"
"sessions `$(@(Get-PSSession).Count)"
"@
        $out[0..3] | Should -Be @('count 1', 'id AccessDenied,PSSessionOpenFailed', 'category OpenError', 'type System.Management.Automation.Remoting.PSRemotingTransportException 5') -Because ($out -join "`n")
        $out | Should -Contain 'sessions 0'
        $out | Should -Not -Match 'Wrong-Pa55'
    }

    It 'saw no request in clear text over the whole file' {
        $log = Get-PeerLog $front
        $log | Should -Not -Match 'VIOLATION'
        @($log -match 'sealed Kerberos request').Count | Should -BeGreaterThan 20
        @($log -match 'sealed NTLM request').Count | Should -BeGreaterThan 10
    }
}
