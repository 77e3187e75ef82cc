# Dot-sourced by the CIM suites' BeforeAll: the built module imported, a replay server started
# ($replay, its $cred) and the session option Basic over plain HTTP needs ($http: as on Windows,
# -NoEncryption, since the password travels readably). Stop-CimSuite in AfterAll undoes it.
. $PSScriptRoot/TestPeers.ps1
Import-Module (Get-ModuleManifest) -Force -ErrorAction Stop
$replay = Start-ReplayServer
$cred = $replay.Credential
$http = New-CimSessionOption -NoEncryption

# Removes the suite's sessions, stops its replay server and unloads the module.
function Stop-CimSuite($replay) {
    Get-CimSession | Remove-CimSession
    Stop-ReplayServer $replay
    Remove-Module RemoteSessions -ErrorAction SilentlyContinue
}
