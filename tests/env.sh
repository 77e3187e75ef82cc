# Sourced by the scripts in tests/: paths and tool settings shared by build, test, demo and bench.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_HOME="$repo/target/cargo-home"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# pwsh prints no update notice (it would go to the tests' console hosts) and sends no telemetry.
export POWERSHELL_UPDATECHECK=Off POWERSHELL_TELEMETRY_OPTOUT=1
module_dir="$repo/build/module/RemoteSessions"
host_bin="$repo/build/host/rsess-host"
# Where tests/setup.sh installs PowerShell and Pester when the machine has no pwsh 7.6 / Pester 5 of
# its own. When they are there they come first, so the demo, the Pester suite and the xunit tests
# (whose PSSession server is the first `pwsh` on PATH) all use that real pwsh 7.6.
tools_dir="$repo/build/tools"
if [ -x "$tools_dir/pwsh/pwsh" ]; then
  case ":$PATH:" in *":$tools_dir/pwsh:"*) ;; *) export PATH="$tools_dir/pwsh:$PATH" ;; esac
fi
if [ -d "$tools_dir/modules/Pester" ]; then
  case ":${PSModulePath:-}:" in
    *":$tools_dir/modules:"*) ;;
    *) export PSModulePath="$tools_dir/modules${PSModulePath:+:$PSModulePath}" ;;
  esac
fi
