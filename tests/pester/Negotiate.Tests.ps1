# New-CimSession -Authentication NtlmDomain | Kerberos | Negotiate | CredSsp as a user runs them, against the
# Negotiate test endpoint (tests/negotiate-server: .NET's NegotiateAuthentication, every message sealed)
# in a loopback MIT realm (tests/kdc.sh). MIT Kerberos and gss-ntlmssp read their settings (KRB5_CONFIG,
# KRB5CCNAME, ...) with getenv(3), which does not see $env: changes made in a running pwsh, so the
# sessions are made in child pwsh processes that inherit the realm's environment.
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1

    $realm = Start-LoopbackRealm
    $server = Start-Peer (Join-Path $Repo 'build/negotiate-server/rsess-negotiate') @() '^listening http=(\d+)'
    $port = [int] $server.Value
    $manifest = Get-ModuleManifest

    # Runs $Script in a new pwsh with the module imported, $port set and errors terminating; returns
    # its output (and error) lines as text.
    function Invoke-Child([string] $Script) {
        $prelude = "`$ErrorActionPreference = 'Stop'; Import-Module '$manifest'; `$port = $port`n" +
            "function Cred(`$u, `$p) { [pscredential]::new(`$u, (ConvertTo-SecureString `$p -AsPlainText -Force)) }`n"
        & (Get-PwshPath) -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1 | ForEach-Object { "$_" }
    }
}

AfterAll {
    Stop-Peer $server
    Stop-LoopbackRealm $realm
}

Describe 'Negotiate, Kerberos and NTLM sessions' {
    It 'opens a session with each mechanism and a credential, every message encrypted' {
        $out = Invoke-Child @'
$ntlm = Cred 'RSESS\ann' 'Ann-Ntlm-Pa55'
$kerberos = Cred 'ann@RSESS.TEST' 'Ann-Krb-Pa55'
foreach ($m in @(@('NtlmDomain', $ntlm), @('Kerberos', $kerberos), @('Negotiate', $kerberos))) {
    $s = New-CimSession -ComputerName 127.0.0.1 -Port $port -Authentication $m[0] -Credential $m[1]
    "$($m[0]) $($s.Protocol) $($s.ComputerName)"
}
'@
        $out | Should -Be @('NtlmDomain WSMAN 127.0.0.1', 'Kerberos WSMAN 127.0.0.1', 'Negotiate WSMAN 127.0.0.1')
    }

    It 'uses the Kerberos ticket cache when no credential is given' {
        'Ann-Krb-Pa55' | & kinit 'ann@RSESS.TEST' | Out-Null
        $LASTEXITCODE | Should -Be 0
        $out = Invoke-Child @'
$s = New-CimSession -ComputerName 127.0.0.1 -Port $port -Authentication Kerberos
"$($s.Protocol)"
'@
        $out | Should -Be 'WSMAN'
    }

    It 'means Negotiate by -Authentication Default and by no -Authentication, as Windows does' {
        $out = Invoke-Child @'
$kerberos = Cred 'ann@RSESS.TEST' 'Ann-Krb-Pa55'
$a = New-CimSession -ComputerName 127.0.0.1 -Port $port -Authentication Default -Credential $kerberos
$b = New-CimSession -ComputerName 127.0.0.1 -Port $port -Credential (Cred 'RSESS\ann' 'Ann-Ntlm-Pa55')
"$($a.Protocol) $($b.Protocol)"
'@
        $out | Should -Be 'WSMAN WSMAN'
    }

    It 'runs ad hoc CIM calls and whole sessions with each mechanism, every message encrypted' {
        # The endpoint in front of the replay server: it opens each sealed request, forwards it and
        # seals the reply, so full CIM conversations run over Negotiate, Kerberos and NTLM.
        $replay = Start-ReplayServer
        $front = $null
        try {
            $user, $password = $replay.Credential.UserName, $replay.Credential.GetNetworkCredential().Password
            $front = Start-Peer (Join-Path $Repo 'build/negotiate-server/rsess-negotiate') @('--upstream', "http://127.0.0.1:$($replay.Port)/wsman", '--upstream-user', $user, '--upstream-password', $password) '^listening http=(\d+)'
            $out = Invoke-Child @"
`$port = $($front.Value)
`$ntlm = Cred 'RSESS\ann' 'Ann-Ntlm-Pa55'
`$kerberos = Cred 'ann@RSESS.TEST' 'Ann-Krb-Pa55'
foreach (`$m in @(@('NtlmDomain', `$ntlm), @('Kerberos', `$kerberos), @('Negotiate', `$kerberos), @('Default', `$ntlm))) {
    `$adhoc = Get-CimInstance -ComputerName 127.0.0.1 -Port `$port -Authentication `$m[0] -Credential `$m[1] -Namespace root/omi -ClassName OMI_Identify
    `$s = New-CimSession -ComputerName 127.0.0.1 -Port `$port -Authentication `$m[0] -Credential `$m[1]
    `$james = Get-CimInstance -CimSession `$s -Query "SELECT Key,Last FROM MSFT_President WHERE First = 'James'"
    "`$(`$m[0]) `$(`$adhoc.CimClass.CimClassName) `$(`$james.Last -join ',')"
}
"@
            $out | Should -Be @('NtlmDomain OMI_Identify Madison,Monroe', 'Kerberos OMI_Identify Madison,Monroe', 'Negotiate OMI_Identify Madison,Monroe', 'Default OMI_Identify Madison,Monroe')
        }
        finally {
            Stop-Peer $front
            Stop-ReplayServer $replay
        }
    }

    It 'does not fall back to Basic by default: a Basic-only server is refused, naming what it offers' {
        $replay = Start-ReplayServer
        try {
            $user, $password = $replay.Credential.UserName, $replay.Credential.GetNetworkCredential().Password
            $out = Invoke-Child @"
`$c = Cred '$user' '$password'
`$o = New-CimSessionOption -NoEncryption
try { New-CimSession -ComputerName 127.0.0.1 -Port $($replay.Port) -Credential `$c -SessionOption `$o | Out-Null; 'no error' }
catch { "`$(`$_.CategoryInfo.Category): `$(`$_.ErrorDetails.Message)" }
`$s = New-CimSession -ComputerName 127.0.0.1 -Port $($replay.Port) -Credential `$c -Authentication Basic -SessionOption `$o
"Basic `$(`$s.Protocol)"
"@
            $out[0] | Should -Match '^PermissionDenied: .*does not offer Negotiate authentication \(it offers Basic\)'
            $out[1] | Should -Be 'Basic WSMAN'
            $out | Should -Not -Match ([regex]::Escape($password))
        }
        finally { Stop-ReplayServer $replay }
    }

    It 'refuses a wrong password, naming the mechanism and not the password' {
        $out = Invoke-Child @'
foreach ($m in @(@('NtlmDomain', 'RSESS\ann'), @('Kerberos', 'ann@RSESS.TEST'))) {
    try { New-CimSession -ComputerName 127.0.0.1 -Port $port -Authentication $m[0] -Credential (Cred $m[1] 'Wrong-Pa55') | Out-Null; 'no error' }
    catch { "$($_.CategoryInfo.Category) $($_.FullyQualifiedErrorId): $($_.ErrorDetails.Message)" }
}
'@
        $out.Count | Should -Be 2
        $out[0] | Should -Match '^PermissionDenied HRESULT 0x80070005,.*: NTLM: logon failure'
        $out[1] | Should -Match '^PermissionDenied HRESULT 0x80070005,.*: Kerberos: .*the password is incorrect'
        $out | Should -Not -Match 'Wrong-Pa55'
    }
}

Describe 'CredSSP sessions' {
    It 'delegates the credential to the server and encrypts every message' {
        $out = Invoke-Child @'
$o = New-CimSessionOption -SkipCACheck -SkipCNCheck
$s = New-CimSession -ComputerName 127.0.0.1 -Port $port -Authentication CredSsp -Credential (Cred 'RSESS\ann' 'Ann-Ntlm-Pa55') -SessionOption $o
"$($s.Protocol) $($s.ComputerName)"
'@
        $out | Should -Be 'WSMAN 127.0.0.1'
    }

    It 'refuses a wrong password, naming CredSSP and the status, not the password' {
        $out = Invoke-Child @'
$o = New-CimSessionOption -SkipCACheck -SkipCNCheck
try { New-CimSession -ComputerName 127.0.0.1 -Port $port -Authentication CredSsp -Credential (Cred 'RSESS\ann' 'Wrong-Pa55') -SessionOption $o | Out-Null; 'no error' }
catch { "$($_.CategoryInfo.Category) $($_.FullyQualifiedErrorId): $($_.ErrorDetails.Message)" }
'@
        $out | Should -Match '^PermissionDenied HRESULT 0x80070005,.*: CredSSP: 127\.0\.0\.1 refused the logon of .RSESS\\ann.: STATUS_LOGON_FAILURE'
        $out | Should -Not -Match 'Wrong-Pa55'
    }

    It 'refuses the self-signed certificate of the TLS session inside unless told to skip the checks' {
        $out = Invoke-Child @'
try { New-CimSession -ComputerName 127.0.0.1 -Port $port -Authentication CredSsp -Credential (Cred 'RSESS\ann' 'Ann-Ntlm-Pa55') -SessionOption (New-CimSessionOption -SkipCNCheck) | Out-Null; 'no error' }
catch { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }
'@
        $out | Should -Match '^CimTlsFailed,.*: CredSSP: the TLS session inside CredSSP .*-SkipCACheck'
    }
}
