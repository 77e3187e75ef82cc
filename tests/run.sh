#!/usr/bin/env bash
# Runs every test suite: cargo test (unit, integration, proptest, header drift), the C example and C
# tests under valgrind, the C# example, the xunit suite hosting the PowerShell 7 engine, and tests/pester where pwsh and
# Pester 5 exist. Prints one aggregate line "N passed, N failed" and fails if any suite failed.
# Expects tests/setup.sh (or tests/build.sh) to have run.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo"
logs="$repo/build/test-logs"
mkdir -p "$logs"
passed=0 failed=0 suites_failed=()

# run_suite NAME COMMAND...: runs a suite, keeps its output in build/test-logs/NAME.log.
run_suite() {
  local name="$1"; shift
  echo "=== $name"
  "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || suites_failed+=("$name (exit $rc)")
  return 0
}

run_suite cargo cargo test --release
p=$(grep -Eo '[0-9]+ passed; [0-9]+ failed' "$logs/cargo.log" | awk '{p+=$1; f+=$3} END {print p+0, f+0}')
passed=$((passed + ${p% *})); failed=$((failed + ${p#* }))

run_suite c bash tests/c/run.sh
p=$(grep -Eo '^c-tests: [0-9]+ passed, [0-9]+ failed' "$logs/c.log" | awk '{p+=$2; f+=$4} END {print p+0, f+0}')
passed=$((passed + ${p% *})); failed=$((failed + ${p#* }))

run_suite csharp-example "$repo/build/csharp-example/rsess-example"
if grep -q '^session removed$' "$logs/csharp-example.log"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

run_suite xunit dotnet test tests/dotnet/RemoteSessions.Tests/RemoteSessions.Tests.csproj -c Release --no-build -nologo \
  --logger "console;verbosity=normal"
# "Passed!  - Failed: F, Passed: P, ..." (minimal) or "Passed: P" / "Failed: F" lines (normal verbosity).
xp=$(grep -Eo '^ +Passed: +[0-9]+' "$logs/xunit.log" | grep -Eo '[0-9]+' | tail -n 1)
xf=$(grep -Eo '^ +Failed: +[0-9]+' "$logs/xunit.log" | grep -Eo '[0-9]+' | tail -n 1)
if [ -z "$xp$xf" ]; then
  xf=$(grep -Eo 'Failed: +[0-9]+, Passed' "$logs/xunit.log" | grep -Eo '[0-9]+' | tail -n 1)
  xp=$(grep -Eo 'Passed: +[0-9]+, Skipped' "$logs/xunit.log" | grep -Eo '[0-9]+' | tail -n 1)
fi
passed=$((passed + ${xp:-0})); failed=$((failed + ${xf:-0}))

if command -v pwsh >/dev/null 2>&1 && pwsh -NoProfile -Command 'if (Get-Module -ListAvailable Pester | Where-Object Version -ge 5.0) { exit 0 } else { exit 1 }'; then
  run_suite pester pwsh -NoProfile -NonInteractive -Command "\$env:RSESS_MODULE_PATH='$module_dir/RemoteSessions.psd1'; \$r = Invoke-Pester -Path '$repo/tests/pester' -PassThru -Output Detailed; Write-Output \"pester: \$(\$r.PassedCount) passed, \$(\$r.FailedCount) failed\"; exit \$r.FailedCount"
  p=$(grep -Eo '^pester: [0-9]+ passed, [0-9]+ failed' "$logs/pester.log" | awk '{print $2+0, $4+0}')
  [ -n "$p" ] || p="0 0"
  passed=$((passed + ${p% *})); failed=$((failed + ${p#* }))
else
  echo "=== pester: skipped (needs pwsh with Pester 5)"
fi

echo
for s in "${suites_failed[@]}"; do echo "FAILED SUITE: $s"; done
echo "$passed passed, $failed failed"
[ "${#suites_failed[@]}" -eq 0 ] && [ "$failed" -eq 0 ]
