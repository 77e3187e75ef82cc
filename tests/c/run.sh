#!/usr/bin/env bash
# Builds bindings/c/example.c and the C tests against the committed header and the built library,
# and runs each under valgrind (any error or leak fails). Needs `cargo build --release` first, and for
# tests/c/wsman.c and tests/c/hostile.c the replay server (build/replay-server/rsess-replay, or $RSESS_REPLAY_SERVER; fixtures
# in ../shared/fixtures or $RSESS_FIXTURES), which this script starts and stops.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
lib="$repo/target/release"
out="$repo/build/c"
mkdir -p "$out"
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -I"$repo/bindings/c")
ldflags=(-L"$lib" -lremote_sessions -Wl,-rpath,"$lib")
gcc "${cflags[@]}" "$repo/bindings/c/example.c" "${ldflags[@]}" -o "$out/example"
gcc "${cflags[@]}" "$repo/tests/c/misuse.c" "${ldflags[@]}" -o "$out/misuse"
gcc "${cflags[@]}" "$repo/tests/c/wsman.c" "${ldflags[@]}" -o "$out/wsman"
gcc "${cflags[@]}" "$repo/tests/c/hostile.c" "${ldflags[@]}" -o "$out/hostile"
gcc "${cflags[@]}" "$repo/tests/c/hostile_input.c" "${ldflags[@]}" -o "$out/hostile_input"
vg=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
echo "--- example"
"${vg[@]}" "$out/example"
echo "--- misuse tests"
"${vg[@]}" "$out/misuse"
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
