#!/usr/bin/env bash
# The main job: imports the built module into a real pwsh 7.6 (the machine's own, or the one tests/setup.sh
# installed under build/tools, which tests/env.sh puts first on PATH) and shows a local CIM session at work.
# Without any pwsh (tests/build.sh alone) it falls back to the engine host built from NuGet's
# System.Management.Automation.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# Each command's output goes through Out-Default on its own, as it would typed at a prompt.
script="Import-Module '$module_dir/RemoteSessions.psd1'
'PS> \$s = New-CimSession; \$s'
\$s = New-CimSession
\$s | Out-Default
'PS> Get-CimInstance -CimSession \$s -ClassName Win32_OperatingSystem'
Get-CimInstance -CimSession \$s -ClassName Win32_OperatingSystem | Out-Default
'PS> Get-CimInstance Win32_Process -Filter \"ProcessId = \$PID\"'
Get-CimInstance Win32_Process -Filter \"ProcessId = \$PID\" | Out-Default
'PS> \$s | Remove-CimSession; Get-CimSession'
\$s | Remove-CimSession
Get-CimSession | Out-Default"
if command -v pwsh >/dev/null 2>&1; then
  pwsh -NoProfile -NonInteractive -Command "$script"
else
  "$host_bin" -Command "$script"
fi
