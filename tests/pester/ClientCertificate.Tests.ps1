# New-CimSession -CertificateThumbprint as a user runs it: test certificates from tests/client-certs.sh
# (a test CA and client certificates, made with openssl), the store folder named by
# $env:RSESS_CERTIFICATE_STORE, and the replay server's HTTPS port that requires a client certificate
# issued by that CA and WinRM's secprofile/https/mutual Authorization header (rsess-replay --client-ca).
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1
    Import-Module (Get-ModuleManifest) -Force -ErrorAction Stop
    $certs = Join-Path ([IO.Path]::GetTempPath()) "rsess-pester-certs-$PID"
    & bash (Join-Path $Repo 'tests/client-certs.sh') $certs
    if ($LASTEXITCODE -ne 0) { throw 'tests/client-certs.sh failed' }
    $replay = Start-ReplayServer -ClientCa (Join-Path $certs 'ca.pem')
    $thumbprint = (Get-Content (Join-Path $certs 'client.thumbprint')).Trim()
    $otherThumbprint = (Get-Content (Join-Path $certs 'other.thumbprint')).Trim()
    # The server's certificate is a throwaway self-signed one.
    $https = New-CimSessionOption -UseSsl -SkipCACheck -SkipCNCheck
    $store = Join-Path $certs 'store'
    New-Item -ItemType Directory $store | Out-Null
    Copy-Item (Join-Path $certs 'client.pem') (Join-Path $store 'mine.pem')
    Copy-Item (Join-Path $certs 'other.pem') (Join-Path $store 'other.pem')
    $savedStore = $env:RSESS_CERTIFICATE_STORE
    $env:RSESS_CERTIFICATE_STORE = $store
}

AfterAll {
    $env:RSESS_CERTIFICATE_STORE = $savedStore
    Get-CimSession | Remove-CimSession
    Stop-ReplayServer $replay
    Remove-Item -Recurse -Force $certs -ErrorAction SilentlyContinue
    Remove-Module RemoteSessions -ErrorAction SilentlyContinue
}

Describe 'New-CimSession -CertificateThumbprint' {
    It 'authenticates with the certificate found in the store folder, over HTTPS' {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.MutualPort -CertificateThumbprint $thumbprint -SessionOption $https -ErrorAction Stop
        $s.ComputerName | Should -Be '127.0.0.1'
        $s.Protocol | Should -Be 'WSMAN'
        $id = Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify -ErrorAction Stop
        $id | Should -Not -BeNullOrEmpty
        Remove-CimSession $s
    }

    It 'takes the thumbprint as Windows shows it, in any case and with spaces' {
        $spaced = ($thumbprint.ToLowerInvariant() -split '(..)' -ne '') -join ' '
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.MutualPort -CertificateThumbprint $spaced -SessionOption $https -ErrorAction Stop
        $s | Should -Not -BeNullOrEmpty
        Remove-CimSession $s
    }

    It 'names the folders it searched when no file holds the certificate' {
        { New-CimSession -ComputerName 127.0.0.1 -Port $replay.MutualPort -CertificateThumbprint ('0' * 40) -SessionOption $https } |
            Should -Throw -ErrorId 'ClientCertificateNotFound,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand'
        try { New-CimSession -ComputerName 127.0.0.1 -CertificateThumbprint ('0' * 40) -SessionOption $https } catch { $e = $_ }
        $e.Exception.Message | Should -BeLike "*$store*"
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'refuses HTTP before any connection' {
        { New-CimSession -ComputerName 127.0.0.1 -Port 9 -CertificateThumbprint $thumbprint } |
            Should -Throw -ErrorId 'ClientCertificateNeedsHttps,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand'
        { New-CimSession -ComputerName 127.0.0.1 -Port 9 -CertificateThumbprint $thumbprint -SessionOption (New-CimSessionOption -NoEncryption) } |
            Should -Throw -ErrorId 'ClientCertificateNeedsHttps,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand'
    }

    It 'is refused by the server with a certificate its CA did not issue' {
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.MutualPort -CertificateThumbprint $otherThumbprint -SessionOption $https -ErrorVariable e -ErrorAction SilentlyContinue
        $s | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].ErrorDetails.Message | Should -BeLike "*may not accept the client certificate $otherThumbprint*"
        Get-CimSession | Should -BeNullOrEmpty
    }

    It 'says which file lacks the key, and never shows key material' {
        $keyless = Join-Path $certs 'keyless'
        New-Item -ItemType Directory $keyless | Out-Null
        Copy-Item (Join-Path $certs 'client.crt') (Join-Path $keyless 'client.pem')
        $env:RSESS_CERTIFICATE_STORE = $keyless
        try {
            try { New-CimSession -ComputerName 127.0.0.1 -Port $replay.MutualPort -CertificateThumbprint $thumbprint -SessionOption $https } catch { $e = $_ }
        } finally { $env:RSESS_CERTIFICATE_STORE = $store }
        $e.FullyQualifiedErrorId | Should -Be 'ClientCertificateUnusable,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand'
        $e.Exception.Message | Should -BeLike '*client.pem*no private key*'
        $keyLine = (Get-Content (Join-Path $certs 'client.key'))[1]
        ($e | Out-String) | Should -Not -BeLike "*$keyLine*"
    }

    It 'finds a certificate added with [X509Store]::new(''My'', ''CurrentUser'') in pwsh' {
        # In a child pwsh whose HOME is a fresh folder: .NET's CurrentUser\My store lives under HOME.
        $home2 = Join-Path $certs 'home'
        New-Item -ItemType Directory $home2 | Out-Null
        $script = {
            param($Manifest, $Crt, $Key, $Thumbprint, $Port)
            $ErrorActionPreference = 'Stop'
            $pem = [Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile($Crt, $Key)
            $store = [Security.Cryptography.X509Certificates.X509Store]::new('My', 'CurrentUser')
            $store.Open('ReadWrite')
            $store.Add($pem)
            $store.Close()
            Import-Module $Manifest
            $s = New-CimSession -ComputerName 127.0.0.1 -Port $Port -CertificateThumbprint $Thumbprint -SessionOption (New-CimSessionOption -UseSsl -SkipCACheck -SkipCNCheck)
            "ok $($s.Protocol)"
        }
        $psi = [Diagnostics.ProcessStartInfo]::new((Get-PwshPath))
        foreach ($a in '-NoProfile', '-NonInteractive', '-EncodedCommand', [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes(
                "& { $script } '$(Get-ModuleManifest)' '$(Join-Path $certs 'client.crt')' '$(Join-Path $certs 'client.key')' '$thumbprint' $($replay.MutualPort)"))) {
            $psi.ArgumentList.Add($a)
        }
        $psi.Environment['HOME'] = $home2
        $psi.Environment.Remove('RSESS_CERTIFICATE_STORE') | Out-Null
        $psi.Environment.Remove('XDG_CONFIG_HOME') | Out-Null
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $p = [Diagnostics.Process]::Start($psi)
        $err = $p.StandardError.ReadToEndAsync()
        $out = $p.StandardOutput.ReadToEnd()
        $p.WaitForExit()
        "$out $($err.Result)" | Should -BeLike '*ok WSMAN*'
        Test-Path (Join-Path $home2 ".dotnet/corefx/cryptography/x509stores/my/$thumbprint.pfx") | Should -BeTrue
    }
}
