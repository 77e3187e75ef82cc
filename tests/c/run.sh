#!/usr/bin/env bash
# Builds bindings/c/example.c, bindings/c/psrp_example.c and the C tests against the committed header and the built library,
# and runs each under valgrind (any error or leak fails). Needs `cargo build --release` first, and for
# tests/c/wsman.c, tests/c/hostile.c and tests/c/certificate.c (with certificates from tests/client-certs.sh) the replay server (build/replay-server/rsess-replay, or $RSESS_REPLAY_SERVER; fixtures
# in ../shared/fixtures or $RSESS_FIXTURES), which this script starts and stops; for tests/c/winrs.c the
# WS-Management endpoint (build/wsman-endpoint, run by pwsh), likewise; for tests/c/negotiate.c a
# loopback Kerberos realm (tests/kdc.sh) and the Negotiate endpoint (build/negotiate-server), likewise.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
lib="$repo/target/release"
out="$repo/build/c"
mkdir -p "$out"
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -I"$repo/bindings/c")
ldflags=(-L"$lib" -lremote_sessions -Wl,-rpath,"$lib")
gcc "${cflags[@]}" "$repo/bindings/c/example.c" "${ldflags[@]}" -o "$out/example"
gcc "${cflags[@]}" "$repo/bindings/c/psrp_example.c" "${ldflags[@]}" -o "$out/psrp_example"
gcc "${cflags[@]}" "$repo/tests/c/misuse.c" "${ldflags[@]}" -o "$out/misuse"
gcc "${cflags[@]}" "$repo/tests/c/psrp.c" "${ldflags[@]}" -o "$out/psrp"
gcc "${cflags[@]}" "$repo/tests/c/wsman.c" "${ldflags[@]}" -o "$out/wsman"
gcc "${cflags[@]}" "$repo/tests/c/hostile.c" "${ldflags[@]}" -o "$out/hostile"
gcc "${cflags[@]}" "$repo/tests/c/hostile_input.c" "${ldflags[@]}" -o "$out/hostile_input"
gcc "${cflags[@]}" "$repo/tests/c/negotiate.c" "${ldflags[@]}" -o "$out/negotiate"
gcc "${cflags[@]}" "$repo/tests/c/certificate.c" "${ldflags[@]}" -o "$out/certificate"
gcc "${cflags[@]}" "$repo/tests/c/winrs.c" "${ldflags[@]}" -o "$out/winrs"
vg=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
echo "--- example"
"${vg[@]}" "$out/example"
echo "--- misuse tests"
"${vg[@]}" "$out/misuse"
# PowerShell sessions opened from C: against the real pwsh that setup installs (env.sh puts it on PATH).
pwsh_server="$(command -v pwsh || true)"
[ -n "$pwsh_server" ] || { echo "no pwsh on PATH: run tests/setup.sh, then source tests/env.sh"; exit 1; }
echo "--- PowerShell session example (bindings/c/psrp_example.c)"
"${vg[@]}" "$out/psrp_example" "$pwsh_server"
echo "--- PowerShell session tests"
"${vg[@]}" "$out/psrp" "$pwsh_server"

echo "--- WS-Man PowerShell session tests (against tests/wsman-endpoint: PowerShell's own WSMan plugin)"
wsman_user=ann wsman_password='Winrs-Pa55'
# The endpoint exits when its stdin ends: the coprocess's stdin is our pipe, closed by stop_endpoint.
coproc ENDPOINT { exec "$pwsh_server" -NoProfile -NonInteractive -File "$repo/build/wsman-endpoint/Start-Endpoint.ps1" \
  --user "$wsman_user" --password "$wsman_password" 2>"$out/wsman-endpoint.stderr"; }
endpoint_pid=$ENDPOINT_PID endpoint_in=${ENDPOINT[1]}
stop_endpoint() {
  eval "exec ${endpoint_in}>&-" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$endpoint_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$endpoint_pid" 2>/dev/null || true
  wait "$endpoint_pid" 2>/dev/null || true
}
trap stop_endpoint EXIT
# First line: "listening http=P https=P".
read -r -t 60 ready <&"${ENDPOINT[0]}" || { echo "the WS-Man endpoint did not start: $(cat "$out/wsman-endpoint.stderr")"; exit 1; }
port="${ready#listening http=}"
port="${port%% *}"
"${vg[@]}" "$out/winrs" "$port" "$wsman_user" "$wsman_password" "$pwsh_server"
stop_endpoint
trap - EXIT
echo "--- hostile input tests"
"${vg[@]}" "$out/hostile_input"

echo "--- wsman tests (against rsess-replay)"
replay="${RSESS_REPLAY_SERVER:-$repo/build/replay-server/rsess-replay}"
fixtures="${RSESS_FIXTURES:-$repo/../shared/fixtures}"
# The server exits when its stdin ends: the coprocess's stdin is our pipe, closed on exit.
coproc REPLAY { exec "$replay" --fixtures "$fixtures" 2>"$out/replay.stderr"; }
replay_pid=$REPLAY_PID replay_in=${REPLAY[1]}
stop_replay() {
  eval "exec ${replay_in}>&-" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$replay_pid" 2>/dev/null || return 0; sleep 0.1; done
  kill "$replay_pid" 2>/dev/null || true
}
trap stop_replay EXIT
# First line: "listening http=P https=0".
read -r -t 60 ready <&"${REPLAY[0]}" || { echo "rsess-replay did not start: $(cat "$out/replay.stderr")"; exit 1; }
port="${ready#listening http=}"
port="${port%% *}"
"${vg[@]}" "$out/wsman" "$port"
echo "--- hostile server tests (against rsess-replay's hostile modes)"
"${vg[@]}" "$out/hostile" "$port"

echo "--- client certificate tests (against rsess-replay --client-ca, certificates from tests/client-certs.sh)"
stop_replay
certs="$(mktemp -d)"
bash "$repo/tests/client-certs.sh" "$certs"
mkdir "$certs/store" && cp "$certs/client.pem" "$certs/store/mine.pem"
coproc REPLAY { exec "$replay" --fixtures "$fixtures" --client-ca "$certs/ca.pem" 2>"$out/replay-certificate.stderr"; }
replay_pid=$REPLAY_PID replay_in=${REPLAY[1]}
# First line: "listening http=P https=0 mutual=P".
read -r -t 60 ready <&"${REPLAY[0]}" || { echo "rsess-replay did not start: $(cat "$out/replay-certificate.stderr")"; exit 1; }
"${vg[@]}" "$out/certificate" "${ready##*mutual=}" "$certs" "$certs/store"
rm -rf "$certs"

echo "--- negotiate tests (against rsess-negotiate, in a loopback realm from tests/kdc.sh)"
stop_replay
# Both peers run until their standard input ends: each reads a FIFO this script holds open.
pipes="$(mktemp -d)"
mkfifo "$pipes/kdc" "$pipes/server"
stop_peers() {
  [ -n "${kdc_in:-}" ] && eval "exec ${kdc_in}>&-" 2>/dev/null
  [ -n "${server_in:-}" ] && eval "exec ${server_in}>&-" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$pipes"
  stop_replay
}
trap stop_peers EXIT
bash "$repo/tests/kdc.sh" 0 <"$pipes/kdc" >"$pipes/kdc.out" 2>"$out/kdc.stderr" &
exec {kdc_in}>"$pipes/kdc"
# waits (up to 10 s) for the line starting with $2 in file $1, and prints it
first_line() {
  for _ in $(seq 100); do
    grep -m1 "^$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
realm="$(first_line "$pipes/kdc.out" 'ready ')" || { echo "tests/kdc.sh did not start the realm: $(cat "$out/kdc.stderr")"; exit 1; }
set -a
source "${realm#ready }/env"
set +a
"$repo/build/negotiate-server/rsess-negotiate" <"$pipes/server" >"$pipes/server.out" 2>"$out/negotiate.stderr" &
exec {server_in}>"$pipes/server"
listening="$(first_line "$pipes/server.out" 'listening ')" || { echo "rsess-negotiate did not start: $(cat "$out/negotiate.stderr")"; exit 1; }
port="${listening#listening http=}"
port="${port%% *}"
"${vg[@]}" --num-callers=40 --suppressions="$repo/tests/c/gssapi.supp" "$out/negotiate" "$port"
