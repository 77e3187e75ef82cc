# Every ErrorRecord the module writes or throws, checked exactly (issue 18, "drop-in fidelity"): the
# full FullyQualifiedErrorId (Windows builds it as "<errorId>,<cmdlet type full name>"), the category
# and the exception type. Each case names the PowerShell source file whose behaviour it matches
# (paths as in spec/cmdlet-behaviour.md: CIM/ = src/Microsoft.Management.Infrastructure.CimCmdlets/,
# RC/ = src/System.Management.Automation/engine/remoting/commands/). Ids for what only this module does
# are ours and say so.
BeforeAll {
    . $PSScriptRoot/CimSuite.ps1
    $cim = 'Microsoft.Management.Infrastructure.CimCmdlets'
    $ps = 'Microsoft.PowerShell.Commands'

    # The error a command ends with (non-terminating ones made terminating by -ErrorAction Stop).
    function Get-Failure([scriptblock] $Command) {
        try { & $Command; $null } catch { $_ }
    }

    function Assert-Failure($Record, [string] $Id, [string] $Category, [string] $Exception) {
        $Record | Should -Not -BeNullOrEmpty -Because 'the command must fail'
        $Record.FullyQualifiedErrorId | Should -BeExactly $Id
        $Record.CategoryInfo.Category.ToString() | Should -BeExactly $Category
        $Record.Exception.GetType().FullName | Should -BeExactly $Exception
    }
}

AfterAll { Stop-CimSuite $replay }

Describe 'Error ids, categories and exception types' {
    BeforeEach { Get-CimSession | Remove-CimSession }

    # CIM/CimWriteError.cs: errorId = the CIM error's MessageID ("HRESULT 0x8004xxxx", lower-case hex as
    # WMI writes it), category from the native code. Kept: the exception is RemoteSessions.CimException,
    # not Microsoft.Management.Infrastructure.CimException (no MI on Linux; same name, same role).
    It 'Get-CimInstance: invalid class, invalid namespace, invalid query' {
        $e = Get-Failure { Get-CimInstance -ClassName Win32_Nothing -ErrorAction Stop }
        Assert-Failure $e "HRESULT 0x80041010,$cim.GetCimInstanceCommand" MetadataError RemoteSessions.CimException
        # Windows shows "MetadataError: (root\cimv2:Win32_Nothing:String)": the target is "<namespace>:<class>".
        $e.TargetObject | Should -BeExactly 'root\cimv2:Win32_Nothing'
        Assert-Failure (Get-Failure { Get-CimInstance -Namespace root/nothing -ClassName Win32_OperatingSystem -ErrorAction Stop }) `
            "HRESULT 0x8004100e,$cim.GetCimInstanceCommand" MetadataError RemoteSessions.CimException
        Assert-Failure (Get-Failure { Get-CimInstance -Query 'SELEC nothing' -ErrorAction Stop }) `
            "HRESULT 0x80041017,$cim.GetCimInstanceCommand" InvalidArgument RemoteSessions.CimException
    }

    # CIM/GetCimInstanceCommand.cs CheckArgument + Utils.cs ValidationHelper: an ArgumentException thrown
    # out of the cmdlet; the engine (utils/ExecutionExceptions.cs) names it by its type, NotSpecified.
    It 'Get-CimInstance: a class or property name with other characters' {
        Assert-Failure (Get-Failure { Get-CimInstance -ClassName 'Win32-Process' }) `
            "System.ArgumentException,$cim.GetCimInstanceCommand" NotSpecified System.ArgumentException
        Assert-Failure (Get-Failure { Get-CimInstance -ClassName Win32_Process -Property 'Name;' }) `
            "System.ArgumentException,$cim.GetCimInstanceCommand" NotSpecified System.ArgumentException
    }

    # CIM/CimWriteError.cs with WBEM_E_NOT_SUPPORTED (NotSupported -> NotImplemented): this computer's
    # provider is read-only.
    It 'Remove-CimInstance and Set-CimInstance: the local provider does not change instances' {
        $os = Get-CimInstance -ClassName Win32_OperatingSystem
        Assert-Failure (Get-Failure { $os | Remove-CimInstance -ErrorAction Stop }) `
            "HRESULT 0x8004100c,$cim.RemoveCimInstanceCommand" NotImplemented RemoteSessions.CimException
        Assert-Failure (Get-Failure { $os | Set-CimInstance -Property @{ Description = 'x' } -ErrorAction Stop }) `
            "HRESULT 0x8004100c,$cim.SetCimInstanceCommand" NotImplemented RemoteSessions.CimException
    }

    # CIM/CimWriteError.cs with WMI's WBEM_E_NOT_FOUND, as PowerShell's own Get-CimClass.Tests.ps1 expects.
    It 'Get-CimClass: a class that does not exist' {
        Assert-Failure (Get-Failure { Get-CimClass -ClassName Win32_Nothing -ErrorAction Stop }) `
            "HRESULT 0x80041002,$cim.GetCimClassCommand" ObjectNotFound RemoteSessions.CimException
        Assert-Failure (Get-Failure { Get-CimClass -Namespace root/nothing -ClassName Win32_Process -ErrorAction Stop }) `
            "HRESULT 0x8004100e,$cim.GetCimClassCommand" MetadataError RemoteSessions.CimException
    }

    # CIM/CimSessionOperations.cs AddErrorRecord: errorId "" so the id is the type name alone
    # (engine/ErrorPackage.cs leaves out the comma), ObjectNotFound, a CimException.
    It 'Get-CimSession and Remove-CimSession: no such session' {
        Assert-Failure (Get-Failure { Get-CimSession -Id 4000000 -ErrorAction Stop }) `
            "$cim.GetCimSessionCommand" ObjectNotFound RemoteSessions.CimException
        Assert-Failure (Get-Failure { Get-CimSession -Name nothing-here -ErrorAction Stop }) `
            "$cim.GetCimSessionCommand" ObjectNotFound RemoteSessions.CimException
        Assert-Failure (Get-Failure { Remove-CimSession -Id 4000000 -ErrorAction Stop }) `
            "$cim.RemoveCimSessionCommand" ObjectNotFound RemoteSessions.CimException
        Assert-Failure (Get-Failure { Remove-CimSession -ComputerName nowhere -ErrorAction Stop }) `
            "$cim.RemoveCimSessionCommand" ObjectNotFound RemoteSessions.CimException
    }

    # CIM/CimCommandBase.cs ThrowTerminatingError(exception, operation): errorId the operation name,
    # InvalidOperation, the cmdlet as target (ThrowConflictParameterWasSet, ThrowInvalidAuthenticationTypeError).
    It 'New-CimSession and New-CimSessionOption: DCOM options with -Port, an authentication that needs a credential' {
        $dcom = New-CimSessionOption -Protocol Dcom
        $e = Get-Failure { New-CimSession -SessionOption $dcom -Port 5985 }
        Assert-Failure $e "New-CimSession,$cim.NewCimSessionCommand" InvalidOperation System.Management.Automation.PSArgumentException
        $e.TargetObject.GetType().FullName | Should -BeExactly "$cim.NewCimSessionCommand"
        $e = Get-Failure { New-CimSession -ComputerName localhost -Authentication Basic }
        Assert-Failure $e "New-CimSession,$cim.NewCimSessionCommand" InvalidOperation System.Management.Automation.PSArgumentOutOfRangeException
        $e.TargetObject.GetType().FullName | Should -BeExactly "$cim.NewCimSessionCommand"
        $e = Get-Failure { New-CimSessionOption -ProxyAuthentication Basic }
        Assert-Failure $e "New-CimSessionOption,$cim.NewCimSessionOptionCommand" InvalidOperation System.Management.Automation.PSArgumentOutOfRangeException
        $e.TargetObject.GetType().FullName | Should -BeExactly "$cim.NewCimSessionOptionCommand"
    }

    # MI's own refusal of a credential for the local (DCOM) session: WBEM_E_LOCAL_CREDENTIALS through
    # CIM/CimWriteError.cs.
    It 'New-CimSession: a credential for the local computer' {
        $c = [pscredential]::new('someone', (ConvertTo-SecureString 'x' -AsPlainText -Force))
        Assert-Failure (Get-Failure { New-CimSession -Credential $c -ErrorAction Stop }) `
            "HRESULT 0x80041064,$cim.NewCimSessionCommand" InvalidArgument RemoteSessions.CimException
    }

    # CIM/CimWriteError.cs with the WinRM client's ERROR_WSMAN_... code as MessageID, ConnectionError,
    # in a RemotingErrorRecord naming the computer.
    It 'New-CimSession: nothing listening' {
        New-CimSession -ComputerName 127.0.0.1 -Port 1 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Assert-Failure $e[0] "HRESULT 0x80338012,$cim.NewCimSessionCommand" ConnectionError RemoteSessions.CimException
        $e[0].OriginInfo.PSComputerName | Should -BeExactly '127.0.0.1'
    }

    # Against the replay server (a WS-Management peer): CIM/CimWriteError.cs, each in a RemotingErrorRecord
    # naming the computer. A refused password is the Win32 access denied the WinRM client reports; a
    # CIM fault with status 6 is WMI's WBEM_E_NOT_FOUND.
    It 'WS-Management: access denied and a server fault' {
        $bad = [pscredential]::new($replay.User, [Net.NetworkCredential]::new('', 'wrong').SecurePassword)
        New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $bad -Authentication Basic -SessionOption $http `
            -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Assert-Failure $e[0] "HRESULT 0x80070005,$cim.NewCimSessionCommand" PermissionDenied RemoteSessions.CimException
        $e[0].OriginInfo.PSComputerName | Should -BeExactly '127.0.0.1'
        $faulty = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SkipTestConnection `
            -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix misbehave/fault500/wsman)
        Get-CimInstance -CimSession $faulty -Namespace root/omi -ClassName OMI_Identify -ErrorVariable f -ErrorAction SilentlyContinue
        Assert-Failure $f[0] "HRESULT 0x80041002,$cim.GetCimInstanceCommand" ObjectNotFound RemoteSessions.CimException
        $f[0].OriginInfo.PSComputerName | Should -BeExactly '127.0.0.1'
    }

    # Ours only: failures Windows' MI names by its own WinRM codes, which this client does not reproduce:
    # a reply that is no valid WS-Management (CimBadReply, ProtocolError), a fault with no CIM status or
    # known subcode (CimFault), a session used after Remove-CimSession (CimSessionRemoved; Windows
    # throws ObjectDisposedException), DCOM to another computer (DcomNotAvailable; no DCOM on Linux).
    It 'errors only this module has (ours)' {
        $garbage = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SkipTestConnection `
            -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix misbehave/garbage/wsman)
        Get-CimInstance -CimSession $garbage -Namespace root/omi -ClassName OMI_Identify -ErrorVariable e -ErrorAction SilentlyContinue
        Assert-Failure $e[0] "CimBadReply,$cim.GetCimInstanceCommand" ProtocolError RemoteSessions.CimException
        # The replay server answers a request it has no recording for with a bare fault.
        $s = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SessionOption $http
        Get-CimInstance -CimSession $s -Namespace root/test -ClassName X_Nothing -ErrorVariable e -ErrorAction SilentlyContinue
        Assert-Failure $e[0] "CimFault,$cim.GetCimInstanceCommand" InvalidOperation RemoteSessions.CimException
        $gone = New-CimSession
        Remove-CimSession $gone
        Get-CimInstance -CimSession $gone -ClassName Win32_OperatingSystem -ErrorVariable e -ErrorAction SilentlyContinue
        Assert-Failure $e[0] "CimSessionRemoved,$cim.GetCimInstanceCommand" InvalidOperation RemoteSessions.CimException
        New-CimSession -SessionOption (New-CimSessionOption -Protocol Dcom) -ComputerName otherhost -ErrorVariable e -ErrorAction SilentlyContinue
        Assert-Failure $e[0] "DcomNotAvailable,$cim.NewCimSessionCommand" NotImplemented RemoteSessions.CimException
    }

    # CIM/CimWriteError.cs with the WinRM client's ERROR_WSMAN_OPERATION_TIMEDOUT as MessageID.
    It 'WS-Management: no answer within -OperationTimeoutSec' {
        $slow = New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -SkipTestConnection `
            -OperationTimeoutSec 1 -SessionOption (New-CimSessionOption -NoEncryption -HttpPrefix misbehave/slow-4000/wsman)
        Get-CimInstance -CimSession $slow -Namespace root/omi -ClassName OMI_Identify -ErrorVariable e -ErrorAction SilentlyContinue
        Assert-Failure $e[0] "HRESULT 0x80338029,$cim.GetCimInstanceCommand" OperationTimeout RemoteSessions.CimException
    }

    # Kept, differs from Windows: Basic over plain HTTP without -NoEncryption is refused before sending
    # as an invalid parameter; Windows' WinRM client refuses it with its own 0x8033xxxx code (not
    # reproduced here; see about_RemoteSessions).
    It 'New-CimSession: Basic over HTTP without -NoEncryption (differs)' {
        New-CimSession -ComputerName 127.0.0.1 -Port $replay.Port -Credential $cred -Authentication Basic -ErrorVariable e -ErrorAction SilentlyContinue
        Assert-Failure $e[0] "HRESULT 0x80041008,$cim.NewCimSessionCommand" InvalidArgument RemoteSessions.CimException
    }

    # Ours only (Windows' MI reads certificates from the Windows store and has no such failures).
    It 'New-CimSession: client certificates (ours)' {
        $e = Get-Failure { New-CimSession -ComputerName localhost -CertificateThumbprint ('ab' * 20) -SessionOption (New-CimSessionOption -UseSsl:$false) }
        Assert-Failure $e "ClientCertificateNeedsHttps,$cim.NewCimSessionCommand" InvalidArgument System.Management.Automation.PSArgumentException
        $e = Get-Failure { New-CimSession -ComputerName localhost -CertificateThumbprint ('ab' * 20) -SessionOption (New-CimSessionOption -UseSsl) }
        Assert-Failure $e "ClientCertificateNotFound,$cim.NewCimSessionCommand" ObjectNotFound RemoteSessions.CimException
    }

    # CIM/CimInvokeCimMethod.cs CreateParametersCollection: with a CimClass and arguments, an undeclared
    # method or parameter is an ArgumentException thrown out of the cmdlet (utils/ExecutionExceptions.cs).
    It 'Invoke-CimMethod: a method or parameter the CimClass does not declare' {
        $c = Get-CimClass -ClassName Win32_Process
        Assert-Failure (Get-Failure { Invoke-CimMethod -CimClass $c -MethodName Nope -Arguments @{ a = 1 } }) `
            "System.ArgumentException,$cim.InvokeCimMethodCommand" NotSpecified System.ArgumentException
        Assert-Failure (Get-Failure { Invoke-CimMethod -CimClass $c -MethodName Terminate -Arguments @{ Nope = 1 } }) `
            "System.ArgumentException,$cim.InvokeCimMethodCommand" NotSpecified System.ArgumentException
    }

    # CIM/CimWriteError.cs with WMI's WBEM_E_INVALID_METHOD for a method the class does not have
    # (no CimClass, so the provider decides).
    It 'Invoke-CimMethod: a method the provider does not have' {
        Assert-Failure (Get-Failure { Invoke-CimMethod -ClassName Win32_Process -MethodName Nope -ErrorAction Stop }) `
            "HRESULT 0x8004102e,$cim.InvokeCimMethodCommand" MetadataError RemoteSessions.CimException
    }

    # RC/PSRemotingCmdlet.cs ParseSSHConnectionHashTable: PSArgumentException thrown out of the cmdlet,
    # so "Argument", InvalidArgument (as PowerShell's SSHRemotingCmdlets.Tests.ps1 expects).
    It 'New-PSSession: -SSHConnection hashtables it refuses' {
        foreach ($h in @{ ComputerName = 'a'; Bogus = 1 }, @{ UserName = 'u' }, @{ ComputerName = 'a'; HostName = 'b' },
            @{ ComputerName = 'a'; KeyFilePath = 'k'; IdentityFilePath = 'i' }, @{ HostName = $null }, @{ ComputerName = 'a'; '' = 'x' }) {
            Assert-Failure (Get-Failure { New-PSSession -SSHConnection $h }) `
                "Argument,$ps.NewPSSessionCommand" InvalidArgument System.Management.Automation.PSArgumentException
        }
    }

    # Ours only: -PowerShellPath (a Linux-only parameter) and the key file checked before ssh starts
    # (Windows' SSHConnectionInfo throws FileNotFoundException while the runspace opens).
    It 'New-PSSession: -PowerShellPath and -KeyFilePath (ours)' {
        Assert-Failure (Get-Failure { New-PSSession -PowerShellPath env:PATH }) `
            "PowerShellPathNotFileSystem,$ps.NewPSSessionCommand" InvalidArgument System.ArgumentException
        Assert-Failure (Get-Failure { New-PSSession -PowerShellPath (Join-Path $TestDrive no-such-pwsh) }) `
            "PowerShellNotFound,$ps.NewPSSessionCommand" ObjectNotFound System.Management.Automation.ItemNotFoundException
        Assert-Failure (Get-Failure { New-PSSession -HostName localhost -KeyFilePath (Join-Path $TestDrive no-key) }) `
            "PathNotFound,$ps.NewPSSessionCommand" ObjectNotFound System.IO.FileNotFoundException
    }

    # RC/newrunspacecommand.cs: a session that does not open is "PSSessionOpenFailed" alone (the engine
    # keeps the id as written), OpenError.
    It 'New-PSSession: a server that does not open' {
        $e = Get-Failure { New-PSSession -PowerShellPath (Get-Command true).Source -ErrorAction Stop }
        $e | Should -Not -BeNullOrEmpty
        $e.FullyQualifiedErrorId | Should -BeExactly 'PSSessionOpenFailed'
        $e.CategoryInfo.Category.ToString() | Should -BeExactly 'OpenError'
    }
}
