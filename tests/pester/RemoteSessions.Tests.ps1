# Pester 5 tests of the built module in a real pwsh (tests/run.sh runs them where pwsh and Pester 5
# exist). RSESS_MODULE_PATH names the manifest; default: build/module/RemoteSessions.
BeforeAll {
    $manifest = if ($env:RSESS_MODULE_PATH) { $env:RSESS_MODULE_PATH } else {
        Join-Path $PSScriptRoot '../../build/module/RemoteSessions/RemoteSessions.psd1'
    }
    Import-Module $manifest -Force -ErrorAction Stop
}

AfterAll {
    Get-CimSession | Remove-CimSession
    Remove-Module RemoteSessions -ErrorAction SilentlyContinue
}

Describe 'CIM sessions' {
    BeforeEach { Get-CimSession | Remove-CimSession }

    It 'creates local sessions with Windows defaults' {
        $s = New-CimSession
        $s.Name | Should -Be "CimSession$($s.Id)"
        $s.ComputerName | Should -Be 'localhost'
        $s.Protocol | Should -Be 'Local'
        (New-CimSession -Name web).Id | Should -Be ($s.Id + 1)
    }

    It 'looks sessions up and reports misses like Windows' {
        $s = New-CimSession -Name web
        (Get-CimSession -Name WE*).InstanceId | Should -Be $s.InstanceId
        (Get-CimSession -ComputerName LOCALHOST).Count | Should -BeGreaterOrEqual 1
        Get-CimSession -Id 999 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].Exception.Message | Should -Be 'Could not find CimSession with the given Id = 999'
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'removes sessions, honouring -WhatIf' {
        New-CimSession -Name a | Out-Null
        Get-CimSession | Remove-CimSession -WhatIf
        @(Get-CimSession).Count | Should -Be 1
        Remove-CimSession -Name a
        Get-CimSession | Should -BeNullOrEmpty
    }

    It 'says DCOM is not available for a remote computer' {
        New-CimSession -SessionOption (New-CimSessionOption -Protocol Dcom) -ComputerName otherhost -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'DcomNotAvailable,RemoteSessions.Commands.NewCimSessionCommand'
    }
}

Describe 'Get-CimInstance' {
    It 'reads the operating system' {
        $os = Get-CimInstance -ClassName Win32_OperatingSystem
        $os.CSName | Should -Be ((Get-Content /proc/sys/kernel/hostname).Trim())
        $os.PSObject.TypeNames[0] | Should -Be 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_OperatingSystem'
        $os.LastBootUpTime | Should -BeOfType [datetime]
    }

    It 'filters processes in the provider' {
        $me = Get-CimInstance -ClassName CIM_Process -Filter "ProcessId = $PID" -Property Name, ProcessId
        $me.ProcessId | Should -Be $PID
        $me.PSObject.TypeNames[0] | Should -Be 'Microsoft.Management.Infrastructure.CimInstance#__PartialCIMInstance'
    }

    It 'gives the Windows error for an unknown class' {
        Get-CimInstance -ClassName No_Such_Class -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'HRESULT 0x80041010,*'
    }
}

Describe 'Get-CimClass and Get-CimAssociatedInstance' {
    It 'declares a class with its keys and renders the class table' {
        $c = Get-CimClass Win32_Process
        $c.CimSuperClassName | Should -Be 'CIM_Process'
        $c.CimClassProperties['Handle'].Flags.HasFlag([RemoteSessions.CimFlags]::Key) | Should -BeTrue
        ($c | Out-String) | Should -Match 'NameSpace: root/cimv2'
    }

    It 'filters classes by property name' {
        (Get-CimClass -PropertyName ProcessId).CimClassName | Should -Contain 'Win32_Process'
    }

    It 'finds no associations in the local provider' {
        Get-CimInstance Win32_OperatingSystem | Get-CimAssociatedInstance | Should -BeNullOrEmpty
    }
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
}

Describe 'PSSessions used through the engine''s own cmdlets' {
    AfterEach { Get-PSSession | Remove-PSSession }

    It 'brings error, warning and verbose records and $using: values back' {
        $p = New-PSSession
        $local = 'from here'
        $out = Invoke-Command -Session $p { Write-Error e; Write-Warning w; Write-Verbose v -Verbose; $using:local } `
            -ErrorVariable ev -WarningVariable wv 4>&1
        $out | Where-Object { $_ -is [string] } | Should -Be 'from here'
        ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Be 'v'
        $ev[0].Exception.Message | Should -Be 'e'
        $ev[0].OriginInfo.PSComputerName | Should -Be 'localhost'
        $ev[0].OriginInfo.RunspaceID | Should -Be $p.InstanceId
        $wv[0].Message | Should -Be 'w'
    }

    It 'is found by name, id and instance id, and removed in each form' {
        $web = New-PSSession -Name web
        $db = New-PSSession -Name db
        (Get-PSSession).Name | Should -Be @('web', 'db')
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
        $web = New-PSSession -Name web
        $lines = ($web | Format-Table | Out-String -Width 200).Split("`n") | ForEach-Object TrimEnd | Where-Object { $_ }
        $lines[0] | Should -Be ' Id Name            Transport ComputerName    ComputerType    State         ConfigurationName     Availability'
        $lines[2] | Should -Match '^ +\d+ web +Process +localhost +RemoteMachine +Opened +Available$'
    }

    It 'is a RemoteRunspace, which Enter-PSSession pushes' {
        $p = New-PSSession
        $p.Runspace.GetType().FullName | Should -Be 'System.Management.Automation.RemoteRunspace'
    }

    It 'copies files to and from the session with Copy-Item' {
        $p = New-PSSession
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

    It 'imports and exports the session''s commands' {
        $p = New-PSSession
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
}
