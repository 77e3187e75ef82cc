#!/usr/bin/env bash
# Setup for a fresh Debian 12 machine with the .NET SDK and Rust: installs every dependency (Debian
# packages and Debian-packaged crates, NuGet restore), builds the cdylib, the C header, the C# library,
# the module and the test projects, then runs the main job (tests/demo.sh).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

packages=(
  gcc make valgrind procps openssh-server openssh-client
  librust-libc-dev librust-once-cell-dev librust-uuid-dev librust-regex-dev
  librust-cbindgen-dev librust-proptest-dev librust-proptest+default-dev
  librust-tokio-dev librust-tokio+full-dev librust-hyper-dev librust-hyper+full-dev librust-socket2-dev
  librust-rustls-dev librust-tokio-rustls+tls12-dev librust-tokio-rustls+dangerous-configuration-dev librust-rustls-native-certs-dev
  librust-webpki-dev librust-quick-xml-dev librust-base64-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Cargo reads the Debian-packaged crates through a CARGO_HOME of our own (crates.io is not reachable
# here; Cargo.toml itself stays resolvable on crates.io for everyone else).
mkdir -p target/cargo-home
cat > target/cargo-home/config.toml <<'TOML'
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
TOML

bash tests/build.sh
bash tests/demo.sh
