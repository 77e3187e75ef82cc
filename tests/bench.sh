#!/usr/bin/env bash
# Benchmark (not a test): ratios measured in one run, printed. Needs tests/build.sh first.
# First the Rust figures (MB/s of the WS-Man reply reader, tests/bench/wsman_parse.rs; once-quadratic
# inputs vs baselines of their size, tests/bench/worst_cases.rs), then the C# ones.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo bench --quiet --bench wsman_parse
cargo bench --quiet --bench worst_cases
dotnet build "$repo/tests/bench/RemoteSessions.Bench.csproj" -c Release -o "$repo/build/bench" -nologo -v quiet
server="$(command -v pwsh || echo "$repo/build/psrp-server/rsess-psrp-server")"
"$repo/build/bench/rsess-bench" "$module_dir/RemoteSessions.psd1" "$server"
