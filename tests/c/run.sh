#!/usr/bin/env bash
# Builds bindings/c/example.c and the C tests against the committed header and the built library,
# and runs each under valgrind (any error or leak fails). Needs `cargo build --release` first.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
lib="$repo/target/release"
out="$repo/build/c"
mkdir -p "$out"
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -I"$repo/bindings/c")
ldflags=(-L"$lib" -lremote_sessions -Wl,-rpath,"$lib")
gcc "${cflags[@]}" "$repo/bindings/c/example.c" "${ldflags[@]}" -o "$out/example"
gcc "${cflags[@]}" "$repo/tests/c/misuse.c" "${ldflags[@]}" -o "$out/misuse"
vg=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
echo "--- example"
"${vg[@]}" "$out/example"
echo "--- misuse tests"
"${vg[@]}" "$out/misuse"
