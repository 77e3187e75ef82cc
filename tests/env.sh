# Sourced by the scripts in tests/: paths and tool settings shared by build, test, demo and bench.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_HOME="$repo/target/cargo-home"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
module_dir="$repo/build/module/RemoteSessions"
host_bin="$repo/build/host/rsess-host"
