# Get-CimInstance against hostile WS-Management servers: the replay server's hostile modes
# (tests/replay-server/Hostile.cs) answer requests about XYZ_Hostile with replies nested 5000 deep, with
# 300k attributes, 120k nested namespace declarations, 65k namespace URIs, 60 MB of tiny elements or a
# 50 MB fault reason, and every other request normally; empty-pulls answers every Pull with no instance and
# a fresh context. Each hostile reply must end in a clear error
# (or a result), PowerShell must live on, memory must stay flat, and the same session must still work
# afterwards. A reader that hung would end at the session's operation timeout, with an error none of
# these tests expects; how fast the reader is, the benchmark says (tests/bench.sh), not these tests.
BeforeAll {
    . $PSScriptRoot/CimSuite.ps1

    # A tested session to the hostile mode's URL, asking for envelopes of $EnvelopeKB KiB (0: default).
    function New-HostileSession([string] $Mode, [uint32] $EnvelopeKB = 0) {
        $option = @{ NoEncryption = $true; HttpPrefix = "misbehave/$Mode/wsman" }
        if ($EnvelopeKB) { $option.MaxEnvelopeSizeKB = $EnvelopeKB }
        New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption (New-CimSessionOption @option)
    }

    # Get-CimInstance of XYZ_Hostile on $Session: its output and errors.
    function Get-Hostile($Session) {
        $out = Get-CimInstance -CimSession $Session -Namespace root/test -ClassName XYZ_Hostile -ErrorVariable errors -ErrorAction SilentlyContinue
        [pscustomobject]@{ Output = $out; Errors = $errors }
    }

    # This process's peak resident memory so far, in KiB.
    function Get-PeakKiB { [long] ((Get-Content /proc/self/status | Where-Object { $_ -like 'VmHWM:*' }) -replace '\D', '') }

    $getId = 'Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand'
}

AfterAll { Stop-CimSuite $replay }

Describe 'Get-CimInstance against a hostile WS-Management server' {
    It 'refuses <Mode> (<EnvelopeKB> KiB envelopes) with a clear error, and the session still works' -TestCases @(
        @{ Mode = 'deep'; EnvelopeKB = 0; Says = 'more than 256 deep' }
        @{ Mode = 'attributes'; EnvelopeKB = 0; Says = 'larger than 1089536 bytes' }
        @{ Mode = 'oversize'; EnvelopeKB = 0; Says = 'larger than 1089536 bytes' }
        @{ Mode = 'hugefault'; EnvelopeKB = 0; Says = 'larger than 1089536 bytes' }
        @{ Mode = 'attributes'; EnvelopeKB = 8192; Says = 'more than 256 attributes' }
        @{ Mode = 'xmlns'; EnvelopeKB = 8192; Says = 'more than 256 namespace declarations' }
        @{ Mode = 'oversize'; EnvelopeKB = 8192; Says = 'larger than 16842752 bytes' }
    ) {
        $s = New-HostileSession $Mode $EnvelopeKB
        $r = Get-Hostile $s
        $r.Output | Should -BeNullOrEmpty
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -Be "CimBadReply,$getId"
        $r.Errors[0].CategoryInfo.Category | Should -Be 'ProtocolError'
        $shown = Get-Shown $r.Errors[0]
        $shown | Should -BeLike "*$Says*"
        $shown.Length | Should -BeLessThan 1000
        (Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify).ProductName | Should -Be 'OMI'
        Remove-CimSession $s
    }

    It 'reads 65k namespace URIs' {
        $s = New-HostileSession namespaces 8192
        $r = Get-Hostile $s
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 1
        $r.Output.E.Count | Should -Be 65000
        (Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify).ProductName | Should -Be 'OMI'
        Remove-CimSession $s
    }

    It 'cuts a 50 MB fault reason to 4 KB in the error' {
        # Envelopes of 128 MiB let the fault through the size check to the fault reader.
        $s = New-HostileSession hugefault 131072
        $r = Get-Hostile $s
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -Be "CimFault,$getId"
        $shown = Get-Shown $r.Errors[0]
        $shown | Should -BeLike '*hostile: reason reason*'
        $shown.Length | Should -BeLessThan 4400
        $r.Errors[0].Exception.Message.Length | Should -BeLessThan 4400
        (Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify).ProductName | Should -Be 'OMI'
        Remove-CimSession $s
    }

    It 'keeps memory flat when a server sends 60 MB' {
        $before = Get-PeakKiB
        $s = New-HostileSession oversize
        (Get-Hostile $s).Errors.Count | Should -Be 1
        Remove-CimSession $s
        # Reading and parsing it whole took about 865 MB.
        (Get-PeakKiB) - $before | Should -BeLessThan (100 * 1024)
    }

    It 'ends an enumeration of endless empty pages with an error, and other sessions still work' {
        # Every Pull answers no instance and a fresh context: it ran forever (217k Pulls in 30 s).
        $s = New-HostileSession empty-pulls
        Clear-ReplayRequests $replay
        $out = Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify -ErrorVariable errors -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be "CimBadReply,$getId"
        Get-Shown $errors[0] | Should -BeLike '*64 Pulls in a row with no instance*'
        @(Get-ReplayRequests $replay | Where-Object { $_ -eq 'empty-pulls Pull OMI_Identify' }).Count | Should -Be 64
        Get-ReplayRequests $replay | Should -Contain 'release Release OMI_Identify'
        Remove-CimSession $s
        $normal = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
        (Get-CimInstance -CimSession $normal -Namespace root/omi -ClassName OMI_Identify).ProductName | Should -Be 'OMI'
        Remove-CimSession $normal
    }

    It 'leaves PowerShell alive after a reply nested 5000 deep (in a child pwsh, where a crash would show)' {
        $script = @'
param($Manifest, $Port, $Password)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
$cred = [pscredential]::new('rsess', (ConvertTo-SecureString $Password -AsPlainText -Force))
$s = New-CimSession -ComputerName 127.0.0.1 -Port $Port -Credential $cred -Authentication Basic -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix misbehave/deep/wsman)
try { Get-CimInstance -CimSession $s -Namespace root/test -ClassName XYZ_Hostile; 'no error' } catch { $_.FullyQualifiedErrorId }
$names = New-CimInstance -ClassName XYZ_Hostile -Property @{ Name = 'hostile' } -Key Name -ClientOnly -Namespace root/test
try { $names | Get-CimInstance -CimSession $s; 'no error' } catch { $_.FullyQualifiedErrorId }
(Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify).ProductName
'@
        $file = Join-Path ([IO.Path]::GetTempPath()) "hostile-deep-$PID.ps1"
        Set-Content -LiteralPath $file -Value $script
        try {
            $out = & (Get-PwshPath) -NoProfile -NonInteractive -File $file (Get-ModuleManifest) $replay.Port 'Replay-Pa55' 2>&1
            $LASTEXITCODE | Should -Be 0
            $out | Should -Be @("CimBadReply,$getId", "CimBadReply,$getId", 'OMI')
        } finally {
            Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue
        }
    }
}
