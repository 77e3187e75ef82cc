#!/usr/bin/env bash
# Runs every test suite: cargo test (unit, integration, proptest, header drift), the C example and C
# tests under valgrind, the C# example, the xunit suite hosting the PowerShell 7 engine, and the Pester
# suite (tests/pester) in a real pwsh 7.6 (before xunit, the longest, so its result comes early).
# Each suite's counts come from a result meant for machines, not from its console text: cargo's
# "test result:" summary lines, the C suite's "c-tests:" line, xunit's TRX file, and the JSON that
# tests/pester/Invoke-Suite.ps1 writes from Pester's result object. Prints each suite's counts and time,
# then one aggregate line "N passed, N failed"; exits non-zero if any suite failed, exited non-zero or
# reported nothing. Expects tests/setup.sh to have run (it builds everything and installs pwsh and Pester).
set -uo pipefail # no -e: one failing suite must not keep the others from running
source "$(dirname "$0")/env.sh"
cd "$repo"
logs="$repo/build/test-logs"
mkdir -p "$logs"

# The Pester suite is part of the run, never skipped: without pwsh and Pester 5 the run fails up front.
if ! command -v pwsh >/dev/null 2>&1 ||
  ! pwsh -NoProfile -NonInteractive -Command 'exit [int]!(Get-Module -ListAvailable Pester | Where-Object { $_.Version.Major -ge 5 })'; then
  echo "run.sh: the Pester suite needs pwsh with Pester 5 (bash tests/setup.sh installs both)" >&2
  exit 1
fi

total_passed=0 total_failed=0
failures=() summary=()
suite_rc=0 suite_seconds=0

# run_suite NAME COMMAND...: runs a suite, keeping its output in build/test-logs/NAME.log; sets suite_rc
# and suite_seconds.
run_suite() {
  local name="$1"; shift
  echo "=== $name"
  local start=$SECONDS
  "$@" 2>&1 | tee "$logs/$name.log"
  suite_rc=${PIPESTATUS[0]}
  suite_seconds=$((SECONDS - start))
}

# record NAME PASSED FAILED [NOTE]: adds the last suite's counts. A suite that reported no counts, or
# exited non-zero, fails the run even when its counts show no failure.
record() {
  local name="$1" p="$2" f="$3" note="${4:-}"
  if [ -z "$p" ] || [ -z "$f" ]; then
    failures+=("$name: reported no result (exit $suite_rc)")
    p=0 f=0
  elif [ "$suite_rc" -ne 0 ]; then
    failures+=("$name: exit $suite_rc")
  fi
  total_passed=$((total_passed + p)) total_failed=$((total_failed + f))
  summary+=("$(printf '%-15s %6d passed %5d failed %4dm%02ds %s' "$name" "$p" "$f" $((suite_seconds / 60)) $((suite_seconds % 60)) "$note")")
}

# Reads a value from a result file with pwsh (PowerShell reads XML and JSON; no other tool is assumed):
# pwsh_read FILE EXPRESSION, where EXPRESSION sees the file's text as $t.
pwsh_read() {
  RSESS_RESULT_FILE="$1" pwsh -NoProfile -NonInteractive -Command \
    "if (Test-Path -LiteralPath \$env:RSESS_RESULT_FILE) { \$t = Get-Content -Raw -LiteralPath \$env:RSESS_RESULT_FILE; $2 }"
}

# cargo: one "test result: ok. P passed; F failed; ..." line per test binary.
run_suite cargo cargo test --release
read -r p f < <(grep -E '^test result: ' "$logs/cargo.log" |
  awk '{ for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } n++ }
       END { if (n) print p+0, f+0 }')
record cargo "${p:-}" "${f:-}"

# C: tests/c/run.sh ends with "c-tests: P passed, F failed".
run_suite c bash tests/c/run.sh
read -r p f < <(grep -E '^c-tests: [0-9]+ passed, [0-9]+ failed' "$logs/c.log" | awk '{ p += $2; f += $4; n++ } END { if (n) print p, f }')
record c "${p:-}" "${f:-}"

# The C# example: one check, that it ran to its last line.
run_suite csharp-example "$repo/build/csharp-example/rsess-example"
if [ "$suite_rc" -eq 0 ] && grep -q '^session removed$' "$logs/csharp-example.log"; then record csharp-example 1 0; else record csharp-example 0 1; fi

# Pester: the counts Invoke-Suite.ps1 took from Invoke-Pester's result object.
rm -f "$logs/pester.json"
run_suite pester pwsh -NoProfile -NonInteractive -File tests/pester/Invoke-Suite.ps1 \
  -ResultPath "$logs/pester.json" -ReportPath "$logs/pester.xml"
read -r p f < <(pwsh_read "$logs/pester.json" '$j = $t | ConvertFrom-Json; "{0} {1}" -f $j.passed, $j.failed')
record pester "${p:-}" "${f:-}"

# xunit: the counters of the TRX file (failed, errors, timeouts and aborts count as failures).
rm -f "$logs/xunit.trx"
run_suite xunit dotnet test tests/dotnet/RemoteSessions.Tests/RemoteSessions.Tests.csproj -c Release --no-build -nologo \
  --logger "console;verbosity=normal" --logger "trx;LogFileName=xunit.trx" --results-directory "$logs"
read -r p f n < <(pwsh_read "$logs/xunit.trx" \
  '$c = ([xml]$t).TestRun.ResultSummary.Counters; "{0} {1} {2}" -f [int]$c.passed, ([int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted), [int]$c.notExecuted')
record xunit "${p:-}" "${f:-}" "$([ "${n:-0}" -gt 0 ] && echo "($n not run)")"

echo
printf '%s\n' "${summary[@]}"
for s in "${failures[@]}"; do echo "FAILED SUITE: $s"; done
echo "$total_passed passed, $total_failed failed"
[ "${#failures[@]}" -eq 0 ] && [ "$total_failed" -eq 0 ]
