# New-PSSession (the module's) with PowerShell's own Invoke-Command, Get-PSSession, Remove-PSSession,
# Copy-Item -ToSession/-FromSession, Import-PSSession and Export-PSSession, as a user runs them. The
# servers are real: a local `pwsh -s` (the first pwsh on PATH) and `pwsh -sshs` behind Debian's sshd,
# which this file starts on a free 127.0.0.1 port with throwaway keys.
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1
    Import-Module (Get-ModuleManifest) -Force -ErrorAction Stop
    $sshd = Start-SshServer

    # A session of either transport, with the same extra parameters.
    function New-TestSession {
        param([ValidateSet('Process', 'SSH')] [string] $Kind = 'Process', [string] $Name)
        $extra = @{}
        if ($Name) { $extra.Name = $Name }
        if ($Kind -eq 'SSH') {
            New-PSSession -HostName localhost -Port $sshd.Port -KeyFilePath $sshd.KeyFile -Options $sshd.Options @extra
        } else {
            New-PSSession @extra
        }
    }
}

AfterAll {
    Get-PSSession | Remove-PSSession
    Stop-SshServer $sshd
    Remove-Module RemoteSessions -ErrorAction SilentlyContinue
}

Describe 'New-PSSession over a local pwsh process' {
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'keeps state between commands and reports its transport' {
        $p = New-PSSession -Name proc
        $p.Transport | Should -Be 'Process'
        $p.State | Should -Be 'Opened'
        Invoke-Command -Session $p { $x = 41 }
        Invoke-Command -Session $p { $x + 1 } | Should -Be 42
        (Invoke-Command -Session $p { $PID }) | Should -Not -Be $PID
    }

    It 'is listed and removed by the engine''s own cmdlets' {
        New-PSSession -Name listed | Out-Null
        (Get-PSSession -Name listed).Name | Should -Be 'listed'
        Remove-PSSession -Name listed
        Get-PSSession -Name listed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'runs the PowerShell named with -PowerShellPath' {
        $p = New-PSSession -PowerShellPath (Get-PwshPath)
        Invoke-Command -Session $p { $PSVersionTable.PSVersion.Major } | Should -Be 7
    }

    It 'ends its server when removed' {
        $p = New-PSSession
        $server = Invoke-Command -Session $p { $PID }
        Remove-PSSession $p
        $p.State | Should -Be 'Closed'
        Test-ProcessExited $server | Should -BeTrue
    }

    It 'becomes Broken when its server dies' {
        $p = New-PSSession
        Stop-Process -Id (Invoke-Command -Session $p { $PID }) -Force
        Wait-Until { $p.State -eq 'Broken' } | Should -BeTrue
        # PowerShell's own answer to a command for a broken session is a terminating error (worded one of
        # two ways, depending on where the engine notices the state).
        { Invoke-Command -Session $p { 1 } } | Should -Throw
        $p.State | Should -Be 'Broken'
    }
}

Describe 'New-PSSession over SSH' {
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'opens with -HostName, -Port and -KeyFilePath and keeps state between commands' {
        $s = New-PSSession -HostName localhost -Port $sshd.Port -KeyFilePath $sshd.KeyFile -Options $sshd.Options -Name web
        $s.Transport | Should -Be 'SSH'
        $s.State | Should -Be 'Opened'
        $s.ComputerName | Should -Be 'localhost'
        $s.Name | Should -Be 'web'
        Invoke-Command -Session $s { $x = 41 }
        Invoke-Command -Session $s { $x + 1 } | Should -Be 42
        Invoke-Command -Session $s { $PID } | Should -Not -Be $PID
    }

    It 'opens one session per -SSHConnection hashtable' {
        $two = New-PSSession -SSHConnection @(
            @{ HostName = 'localhost'; Port = $sshd.Port; KeyFilePath = $sshd.KeyFile; Options = $sshd.Options }
            @{ HostName = '127.0.0.1'; Port = $sshd.Port; KeyFilePath = $sshd.KeyFile; Options = $sshd.Options }
        )
        $two.ComputerName | Should -Be @('localhost', '127.0.0.1')
        $two.State | Select-Object -Unique | Should -Be 'Opened'
    }

    It 'fans Invoke-Command out over SSH and process sessions' {
        $s = New-TestSession -Kind SSH
        $p = New-TestSession -Kind Process
        $both = Invoke-Command -Session $s, $p { param($a) "$a on $PID" } -ArgumentList hi
        $both.Count | Should -Be 2
        $both | ForEach-Object { $_ | Should -BeLike 'hi on *' }
        $both.PSComputerName | Select-Object -Unique | Should -Be 'localhost'
        ($both | Select-Object -Unique).Count | Should -Be 2
    }

    It 'ends its server when removed' {
        $s = New-TestSession -Kind SSH -Name gone
        $server = Invoke-Command -Session $s { $PID }
        Remove-PSSession -Name gone
        $s.State | Should -Be 'Closed'
        Get-PSSession -Name gone -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-ProcessExited $server | Should -BeTrue
    }

    It 'says why a refused key cannot open a session' {
        # The host key is no authorized client key.
        New-PSSession -HostName localhost -Port $sshd.Port -KeyFilePath (Join-Path $sshd.Directory 'host_key') -Options $sshd.Options `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeExactly 'PSSessionOpenFailed'
        $e[0].CategoryInfo.Category | Should -Be 'OpenError'
        $e[0].ErrorDetails.Message | Should -Match 'Permission denied'
        Get-PSSession | Should -BeNullOrEmpty
    }
}

# The same user-level checks on both transports.
Describe 'PSSessions used through the engine''s own cmdlets (<Kind>)' -ForEach @(
    @{ Kind = 'Process' }
    @{ Kind = 'SSH' }
) {
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'brings output, error, warning and verbose records and $using: values back' {
        $p = New-TestSession -Kind $Kind
        $local = 'from here'
        $out = Invoke-Command -Session $p { Write-Error e; Write-Warning w; Write-Verbose v -Verbose; $using:local } `
            -ErrorVariable ev -WarningVariable wv 4>&1
        $out | Where-Object { $_ -is [string] } | Should -Be 'from here'
        $ev[0].Exception.Message | Should -Be 'e'
        $ev[0].OriginInfo.PSComputerName | Should -Be 'localhost'
        $ev[0].OriginInfo.RunspaceID | Should -Be $p.InstanceId
        $wv[0].Message | Should -Be 'w'
        # pwsh writes a remote command's verbose records straight to the host, past 4>&1 (its own SSH
        # sessions do the same), so the records are read from the job that Invoke-Command -AsJob returns.
        $job = Invoke-Command -Session $p { Write-Verbose v -Verbose; $using:local } -AsJob
        $job | Wait-Job | Receive-Job | Should -Be 'from here'
        $job.ChildJobs[0].Verbose.Message | Should -Be 'v'
        $job | Remove-Job
    }

    It 'turns a remote throw into a terminating error and keeps the session usable' {
        $p = New-TestSession -Kind $Kind
        { Invoke-Command -Session $p { throw 'remote failure' } -ErrorAction Stop } | Should -Throw -ExpectedMessage 'remote failure'
        $p.State | Should -Be 'Opened'
        Invoke-Command -Session $p { 'still here' } | Should -Be 'still here'
    }

    It 'returns deserialized objects with their properties' {
        $p = New-TestSession -Kind $Kind
        $item = Invoke-Command -Session $p { Get-Item / }
        $item.PSObject.TypeNames | Should -Contain 'Deserialized.System.IO.DirectoryInfo'
        $item.FullName | Should -Be '/'
        $item.PSComputerName | Should -Be 'localhost'
    }

    It 'is found by name, id and instance id, and removed in each form' {
        $web = New-TestSession -Kind $Kind -Name web
        $db = New-TestSession -Kind $Kind -Name db
        # Sorted: Get-PSSession lists in the order of the engine's session table, which reuses the places
        # of removed sessions (pwsh's own sessions too), not in the order of creation.
        (Get-PSSession | Sort-Object Id).Name | Should -Be @('web', 'db')
        (Get-PSSession -Id $db.Id).Name | Should -Be 'db'
        (Get-PSSession -InstanceId $web.InstanceId).Name | Should -Be 'web'
        $web.ComputerName | Should -Be 'localhost'
        $web.ComputerType | Should -Be 'RemoteMachine'
        $web.Availability | Should -Be 'Available'
        Remove-PSSession -Name web
        $web.State | Should -Be 'Closed'
        $db | Remove-PSSession
        Get-PSSession | Should -BeNullOrEmpty
    }

    It 'renders as the PSSession table' {
        $web = New-TestSession -Kind $Kind -Name web
        $lines = ($web | Format-Table | Out-String -Width 200).Split("`n") | ForEach-Object TrimEnd | Where-Object { $_ }
        $lines[0] | Should -Be ' Id Name            Transport ComputerName    ComputerType    State         ConfigurationName     Availability'
        $lines[2] | Should -Match "^ +\d+ web +$Kind +localhost +RemoteMachine +Opened +Available$"
    }

    It 'is a RemoteRunspace, which Enter-PSSession pushes' {
        $p = New-TestSession -Kind $Kind
        $p.Runspace.GetType().FullName | Should -Be 'System.Management.Automation.RemoteRunspace'
    }

    It 'copies files to and from the session with Copy-Item' {
        $p = New-TestSession -Kind $Kind
        $local = Join-Path ([IO.Path]::GetTempPath()) "rsess-copy-$PID.txt"
        $remote = Join-Path ([IO.Path]::GetTempPath()) "rsess-copied-$PID.txt"
        $back = "$local.back"
        try {
            Set-Content -Path $local -Value 'over the session'
            Copy-Item -Path $local -Destination $remote -ToSession $p
            Invoke-Command -Session $p { param($f) Get-Content $f } -ArgumentList $remote | Should -Be 'over the session'
            Copy-Item -Path $remote -Destination $back -FromSession $p
            Get-Content $back | Should -Be 'over the session'
        } finally {
            Remove-Item $local, $back -ErrorAction SilentlyContinue
            Invoke-Command -Session $p { param($f) Remove-Item $f -ErrorAction SilentlyContinue } -ArgumentList $remote
        }
    }

    It 'copies a folder recursively with Copy-Item -ToSession' {
        $p = New-TestSession -Kind $Kind
        $tree = Join-Path ([IO.Path]::GetTempPath()) "rsess-tree-$PID"
        $remote = Join-Path ([IO.Path]::GetTempPath()) "rsess-tree-copied-$PID"
        try {
            New-Item -ItemType Directory -Path "$tree/sub" -Force | Out-Null
            Set-Content "$tree/a.txt" 'a'
            Set-Content "$tree/sub/b.txt" 'b'
            Copy-Item -Path $tree -Destination $remote -ToSession $p -Recurse
            Invoke-Command -Session $p { param($d) (Get-ChildItem $d -Recurse -File | Sort-Object Name | Get-Content) -join ',' } -ArgumentList $remote |
                Should -Be 'a,b'
        } finally {
            Remove-Item $tree -Recurse -Force -ErrorAction SilentlyContinue
            Invoke-Command -Session $p { param($d) Remove-Item $d -Recurse -Force -ErrorAction SilentlyContinue } -ArgumentList $remote
        }
    }

    It 'imports and exports the session''s commands' {
        $p = New-TestSession -Kind $Kind
        Invoke-Command -Session $p { function Get-RemoteAnswer { 42 } }
        $module = Import-PSSession -Session $p -CommandName Get-RemoteAnswer -AllowClobber
        Get-RemoteAnswer | Should -Be 42
        Remove-Module $module
        $out = Join-Path ([IO.Path]::GetTempPath()) "rsess-export-$PID"
        try {
            Export-PSSession -Session $p -CommandName Get-RemoteAnswer -OutputModule $out -Force | Out-Null
            Test-Path (Join-Path $out "rsess-export-$PID.psm1") | Should -BeTrue
        } finally {
            Remove-Item $out -Recurse -ErrorAction SilentlyContinue
        }
    }

    It 'imports a remote cmdlet with a prefix and runs it in the session' {
        $p = New-TestSession -Kind $Kind
        $module = Import-PSSession -Session $p -CommandName Get-Process -Prefix Remote -AllowClobber
        try {
            $server = Invoke-Command -Session $p { $PID }
            (Get-RemoteProcess -Id $server).Id | Should -Be $server
            (Get-Command Get-RemoteProcess).ModuleName | Should -Be $module.Name
        } finally {
            Remove-Module $module
        }
    }
}
