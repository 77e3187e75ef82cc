# What a user meets around the cmdlets: the module's commands and aliases, tab completion, help with
# examples, and mocking the module's cmdlets in the user's own Pester tests.
BeforeAll {
    . $PSScriptRoot/TestPeers.ps1
    Import-Module (Get-ModuleManifest) -Force -ErrorAction Stop

    # The completions PowerShell offers for $Line with the cursor at its end, as Tab and Ctrl+Space show.
    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText
    }
}

AfterAll {
    Get-CimSession | Remove-CimSession
    Remove-Module RemoteSessions, UserInventory -ErrorAction SilentlyContinue
}

Describe 'The module''s commands' {
    It 'exports the CIM cmdlets and New-PSSession, which takes over the engine''s' {
        $names = (Get-Command -Module RemoteSessions).Name
        foreach ($n in 'New-CimSession', 'Get-CimSession', 'Remove-CimSession', 'New-CimSessionOption', 'Get-CimInstance',
            'Invoke-CimMethod', 'New-CimInstance', 'Set-CimInstance', 'Remove-CimInstance', 'Get-CimClass',
            'Get-CimAssociatedInstance', 'New-PSSession') {
            $names | Should -Contain $n
        }
        (Get-Command New-PSSession).ModuleName | Should -Be 'RemoteSessions'
    }

    It 'has the Windows aliases' {
        (Get-Alias gcim).ResolvedCommandName | Should -Be 'Get-CimInstance'
        (Get-Alias ncms).ResolvedCommandName | Should -Be 'New-CimSession'
        (Get-Alias rcms).ResolvedCommandName | Should -Be 'Remove-CimSession'
        (gcim Win32_OperatingSystem).PSObject.TypeNames[0] | Should -BeLike '*#root/cimv2/Win32_OperatingSystem'
    }
}

Describe 'Tab completion' {
    It 'completes class names of the local provider' {
        Get-Completion 'Get-CimInstance -ClassName Win32_Op' | Should -Be 'Win32_OperatingSystem'
        Get-Completion 'Get-CimClass -ClassName CIM_Pro' | Should -Contain 'CIM_Process'
    }

    It 'completes parameter names' {
        Get-Completion 'Get-CimInstance -Cla' | Should -Contain '-ClassName'
        Get-Completion 'New-PSSession -PowerSh' | Should -Be '-PowerShellPath'
    }

    It 'completes the names of this runspace''s sessions' {
        New-CimSession -Name completion-demo | Out-Null
        Get-Completion 'Get-CimSession -Name completion-d' | Should -Be 'completion-demo'
        Get-Completion 'Remove-CimSession -Name completion-d' | Should -Be 'completion-demo'
        Remove-CimSession -Name completion-demo
        Get-Completion 'Get-CimSession -Name completion-d' | Should -BeNullOrEmpty
    }
}

Describe 'Help' {
    It 'shows examples for <Command>' -ForEach @(
        @{ Command = 'Get-CimInstance' }
        @{ Command = 'New-CimSession' }
        @{ Command = 'New-PSSession' }
    ) {
        $help = Get-Help $Command -Examples
        $help.Name | Should -Be $Command
        @($help.examples.example).Count | Should -BeGreaterThan 0
        $help.examples.example[0].code | Should -Match $Command
        (Get-Help $Command -Examples | Out-String) | Should -Match 'Example 1'
    }

    It 'describes parameters' {
        (Get-Help Get-CimInstance -Parameter ClassName).name | Should -Be 'ClassName'
        (Get-Help Get-CimInstance).Synopsis | Should -Not -BeNullOrEmpty
    }
    It 'has an about topic that tells transports, authentication and what differs from Windows' {
        $about = Get-Help about_RemoteSessions | Out-String
        $about | Should -Match 'about_RemoteSessions'
        foreach ($section in 'WS-MANAGEMENT', 'AUTHENTICATION', 'POWERSHELL SESSIONS', 'WHAT DIFFERS FROM WINDOWS') {
            $about | Should -Match $section
        }
    }
}

Describe 'Mocking the module''s cmdlets in a user''s tests' {
    BeforeAll {
        # A user's module that calls the module's cmdlets, as code under test in the user's own suite.
        New-Module -Name UserInventory -ScriptBlock {
            function Get-OSCaption { (Get-CimInstance -ClassName Win32_OperatingSystem).Caption }
            function Get-ProcessCount { @(Get-CimInstance -ClassName Win32_Process).Count }
            function Remove-AllCimSessions { Get-CimSession | Remove-CimSession }
        } | Import-Module
    }

    It 'replaces Get-CimInstance inside the user''s module and counts the calls' {
        Mock Get-CimInstance -ModuleName UserInventory -ParameterFilter { $ClassName -eq 'Win32_OperatingSystem' } {
            [pscustomobject]@{ Caption = 'Mocked Linux' }
        }
        Get-OSCaption | Should -Be 'Mocked Linux'
        Should -Invoke Get-CimInstance -ModuleName UserInventory -Times 1 -Exactly -ParameterFilter { $ClassName -eq 'Win32_OperatingSystem' }
    }

    It 'lets calls the filter does not match reach the real cmdlet' {
        Mock Get-CimInstance -ModuleName UserInventory -ParameterFilter { $ClassName -eq 'Win32_OperatingSystem' } { 'mocked' }
        Get-ProcessCount | Should -BeGreaterThan 1
        Should -Invoke Get-CimInstance -ModuleName UserInventory -Times 0 -Exactly -ParameterFilter { $ClassName -eq 'Win32_OperatingSystem' }
    }

    It 'mocks session cmdlets in the test''s own scope' {
        Mock New-CimSession { [pscustomobject]@{ Name = 'fake'; Protocol = 'Mock' } }
        Mock Remove-CimSession { }
        (New-CimSession -ComputerName srv1).Protocol | Should -Be 'Mock'
        Should -Invoke New-CimSession -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'srv1' }
        Get-CimSession | Should -BeNullOrEmpty
    }

    It 'mocks a cmdlet taking pipeline input' {
        New-CimSession -Name piped | Out-Null
        Mock Remove-CimSession -ModuleName UserInventory { }
        Remove-AllCimSessions
        Should -Invoke Remove-CimSession -ModuleName UserInventory -Times 1 -Exactly
        (Get-CimSession).Name | Should -Be 'piped'
        Remove-CimSession -Name piped
    }
}
