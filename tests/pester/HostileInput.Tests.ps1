# Hostile and mistaken input, as a user meets it (issue 16): computer names that are not host names,
# -PowerShellPath naming something that is not a file, a PSRP peer that writes endlessly without a line
# break, and an SSH peer that accepts the connection and never speaks. Each ends with a clear error in
# a bounded time and memory, and the module keeps working after it.
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1
    Import-Module (Get-ModuleManifest) -Force -ErrorAction Stop
    $work = (New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "rsess-hostile-$([guid]::NewGuid().ToString('N'))")).FullName

    # A "PowerShell server" that writes NUL bytes forever and never a line break.
    $endless = Join-Path $work 'endless-server'
    Set-Content -Path $endless -Value "#!/bin/sh`nexec cat /dev/zero"
    chmod +x $endless

    # Peak resident memory of this pwsh, in MiB (VmHWM).
    function Get-PeakMiB { [math]::Round((Get-Process -Id $PID).PeakWorkingSet64 / 1MB) }
}

AfterAll {
    Get-PSSession | Remove-PSSession
    Get-CimSession | Remove-CimSession
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    Remove-Module RemoteSessions -ErrorAction SilentlyContinue
}

Describe 'Computer names that are not host names' {
    BeforeEach { Get-CimSession | Remove-CimSession }

    It 'refuses <Name> with an InvalidArgument error naming it' -ForEach @(
        @{ Name = '127.0.0.1#frag' }, @{ Name = 'localhost/m/ok?' }, @{ Name = 'user@host' },
        @{ Name = 'host:8080' }, @{ Name = 'http://host' }, @{ Name = '[::1' }, @{ Name = 'a b' }
    ) {
        $cred = [pscredential]::new('u', (ConvertTo-SecureString 'p' -AsPlainText -Force))
        New-CimSession -ComputerName $Name -Port 5985 -Credential $cred -Authentication Basic -SkipTestConnection `
            -SessionOption (New-CimSessionOption -NoEncryption) -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-Shown $e[0] | Should -BeLike "*'$([WildcardPattern]::Escape($Name))' is not a valid computer name*"
        Get-CimSession | Should -BeNullOrEmpty
    }

    It 'refuses them for Get-CimInstance -ComputerName too' {
        Get-CimInstance -ComputerName 'localhost/m/ok?' -ClassName Win32_Service -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-Shown $e[0] | Should -BeLike "*'localhost/m/ok?'*"
    }

    It 'accepts host names and IPv4 and IPv6 literals (<Name>)' -ForEach @(
        @{ Name = 'srv-1.example.com' }, @{ Name = '127.0.0.1' }, @{ Name = '::1' }, @{ Name = '[::1]' }
    ) {
        $s = New-CimSession -ComputerName $Name -SkipTestConnection
        $s.ComputerName | Should -Be $Name
        $s.Protocol | Should -Be 'WSMAN'
    }

    It 'names a bad -HttpPrefix' {
        $o = New-CimSessionOption -HttpPrefix 'ws man#x'
        New-CimSession -ComputerName srv -SessionOption $o -SkipTestConnection -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-Shown $e[0] | Should -BeLike "*HTTP prefix 'ws man#x'*"
    }
}

Describe 'New-PSSession -PowerShellPath that names no file' {
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'refuses env:PATH as not a file-system path' {
        { New-PSSession -PowerShellPath env:PATH -ErrorAction Stop } | Should -Throw -ErrorId 'PowerShellPathNotFileSystem,Microsoft.PowerShell.Commands.NewPSSessionCommand'
        try { New-PSSession -PowerShellPath env:PATH -ErrorAction Stop } catch { $err = $_ }
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -BeLike "*'env:PATH'*Environment provider*"
        Get-PSSession | Should -BeNullOrEmpty
    }

    It 'refuses a file that does not exist' {
        { New-PSSession -PowerShellPath (Join-Path $work 'no-such-pwsh') -ErrorAction Stop } | Should -Throw -ErrorId 'PowerShellNotFound,Microsoft.PowerShell.Commands.NewPSSessionCommand'
    }
}

Describe 'A PSRP peer that writes endlessly without a line break' {
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'fails with a clear error in bounded memory, and the module keeps working' {
        $good = New-PSSession -Name good
        $peak = Get-PeakMiB
        # The peer never ends: the open can only fail by the line cap, which the message names.
        New-PSSession -PowerShellPath $endless -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].CategoryInfo.Category | Should -Be 'OpenError'
        Get-Shown $e[0] | Should -BeLike '*longer than 64 MiB*'
        # The cap is 64 MiB; the engine and the marshalled packet add little to that.
        (Get-PeakMiB) - $peak | Should -BeLessThan 400
        # The registry and the other session are untouched, and new sessions still open.
        (Get-PSSession -Name good).State | Should -Be 'Opened'
        @(Get-PSSession).Count | Should -Be 1
        Invoke-Command -Session $good { 6 * 7 } | Should -Be 42
        $again = New-PSSession
        Invoke-Command -Session $again { 1 + 1 } | Should -Be 2
    }
}

Describe 'An SSH peer that never speaks SSH' {
    BeforeAll {
        # Accepts connections (the kernel completes them on the listen backlog) and never writes a byte.
        $silent = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $silent.Start()
        $port = $silent.LocalEndpoint.Port
        $sshOptions = @{ BatchMode = 'yes'; StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null' }
    }
    AfterAll { $silent.Stop() }
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'ends at -ConnectingTimeout with pwsh''s message' {
        # The peer never speaks: only the connecting timeout can end the open, and the message names it.
        New-PSSession -HostName 127.0.0.1 -Port $port -Options $sshOptions -ConnectingTimeout 2000 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-Shown $e[0] | Should -BeLike '*SSH connection attempt failed after time out: 2 seconds*'
    }

    It 'ends without -ConnectingTimeout too, at ssh''s default ConnectTimeout (30 s)' {
        # ssh's own timeout ends it ('timed out'), not a hang of this module.
        New-PSSession -HostName 127.0.0.1 -Port $port -Options $sshOptions -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].CategoryInfo.Category | Should -Be 'OpenError'
        Get-Shown $e[0] | Should -BeLike '*timed out*'
        Get-PSSession | Should -BeNullOrEmpty
    }
}
