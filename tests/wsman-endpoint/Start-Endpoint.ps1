# Starts the WS-Management (WinRS) test endpoint inside this pwsh, so that its shells are this
# PowerShell with its modules: loads RemoteSessions.WsmanEndpoint.dll (next to this script when it was
# copied to build/wsman-endpoint, else from the repository's build/wsman-endpoint) and runs it until EOF
# on stdin or SIGTERM. Arguments go to the endpoint: --user U --password P [--max-envelope-kb N]
# [--min-idle-ms N] [--http-port N] [--https-port N] [--shim path/libpsrpomiprov.so].
#   pwsh -NoProfile -NonInteractive -File tests/wsman-endpoint/Start-Endpoint.ps1 --user u --password p
$ErrorActionPreference = 'Stop'
$dir = $PSScriptRoot
if (-not (Test-Path -LiteralPath (Join-Path $dir 'RemoteSessions.WsmanEndpoint.dll'))) {
    $dir = Join-Path $PSScriptRoot '../../build/wsman-endpoint'
}
$dll = (Resolve-Path -LiteralPath (Join-Path $dir 'RemoteSessions.WsmanEndpoint.dll')).ProviderPath
$shim = Join-Path (Split-Path $dll) 'libpsrpomiprov.so'
$null = [System.Reflection.Assembly]::LoadFrom($dll)
[string[]] $arguments = @($args) + @('--shim', $shim)
exit [RemoteSessions.WsmanEndpoint.Endpoint]::Run($arguments)
