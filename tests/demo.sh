#!/usr/bin/env bash
# The main job: imports the built module into PowerShell (a real pwsh when present, else the engine host
# built from NuGet's System.Management.Automation) and shows a local CIM session at work.
set -euo pipefail
source "$(dirname "$0")/env.sh"
script="Import-Module '$module_dir/RemoteSessions.psd1'
\$s = New-CimSession
\$s
Get-CimSession
Get-CimInstance -CimSession \$s -ClassName Win32_OperatingSystem
Remove-CimSession -CimSession \$s"
if command -v pwsh >/dev/null 2>&1; then
  pwsh -NoProfile -NonInteractive -Command "$script"
else
  "$host_bin" -Command "$script"
fi
