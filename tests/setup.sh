#!/usr/bin/env bash
# Setup for a fresh Debian 12 machine with the .NET SDK and Rust: installs every dependency (Debian
# packages and Debian-packaged crates, NuGet restore, PowerShell 7.6 and Pester 5 unless the machine has
# them), builds the cdylib, the C header, the C# library, the module and the test projects, then runs the
# main job (tests/demo.sh) in that pwsh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

packages=(
  gcc make valgrind procps openssh-server openssh-client tmux
  librust-libc-dev librust-once-cell-dev librust-uuid-dev librust-regex-dev
  librust-cbindgen-dev librust-proptest-dev librust-proptest+default-dev
  librust-tokio-dev librust-tokio+full-dev librust-hyper-dev librust-hyper+full-dev librust-socket2-dev
  librust-rustls-dev librust-tokio-rustls+tls12-dev librust-tokio-rustls+dangerous-configuration-dev librust-rustls-native-certs-dev
  librust-webpki-dev librust-quick-xml-dev librust-base64-dev librust-ring-dev librust-rustls-pemfile-dev
  # CredSSP: TSRequest/TSCredentials in DER
  librust-asn1-dev
  # Client certificates: .pfx files through the runtime libcrypto; the tests make their certificates with openssl
  libssl3 openssl
  # Negotiate/Kerberos/NTLM: the runtime GSSAPI, and the tests' loopback realm (tests/kdc.sh) and NTLM
  libgssapi-krb5-2 krb5-kdc krb5-admin-server krb5-user gss-ntlmssp
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Feature packages such as librust-tokio+full-dev are virtual (provided by librust-tokio-dev), so dpkg
# never lists them as installed: ask apt whether anything would be installed before updating its lists.
if [ "${#missing[@]}" -gt 0 ] && apt-get -s install "${missing[@]}" 2>/dev/null | grep -q '^0 upgraded, 0 newly installed'; then
  missing=()
fi
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

# PowerShell and Pester. A pwsh 7.6 and a Pester 5 the machine already has are used as they are;
# otherwise they are installed under build/tools from NuGet, and tests/env.sh puts them first on PATH
# and PSModulePath for every script. (env.sh is sourced first so a second run finds the first one's.)
source tests/env.sh
pwsh_76() {
  command -v pwsh >/dev/null 2>&1 &&
    pwsh -NoProfile -NonInteractive -Command 'exit [int]!($PSVersionTable.PSVersion.Major -eq 7 -and $PSVersionTable.PSVersion.Minor -eq 6)'
}
pester_5() {
  pwsh -NoProfile -NonInteractive -Command 'exit [int]!(Get-Module -ListAvailable Pester | Where-Object { $_.Version.Major -ge 5 })'
}
if ! pwsh_76; then
  echo "setup: installing PowerShell 7.6.10 into $tools_dir/pwsh"
  rm -rf "$tools_dir/pwsh"
  # The version is named on purpose: without it the tool installs the newest PowerShell (7.7), which
  # does not run on this SDK's runtime.
  dotnet tool install PowerShell --version 7.6.10 --tool-path "$tools_dir/pwsh" >/dev/null
fi
if [ -d "$tools_dir/pwsh/.store" ] && [ "$(head -c 2 "$tools_dir/pwsh/pwsh")" != '#!' ]; then
  # The tool's `pwsh` is a shim that starts PowerShell as a second process (`dotnet pwsh.dll`) and waits
  # for it, so every pwsh would be two processes: a session's server would not be the process the module
  # started, and a console's $PID not the process a test drives. That pwsh also puts this folder first on
  # PATH, so the shim itself is replaced by a launcher that execs the same pwsh.dll in one process, as a
  # packaged PowerShell runs.
  pwsh_dll=("$tools_dir"/pwsh/.store/powershell/7.6.10/powershell/7.6.10/tools/*/any/unix/pwsh.dll)
  [ -f "${pwsh_dll[0]}" ] || { echo "setup: no pwsh.dll in $tools_dir/pwsh" >&2; exit 1; }
  printf '#!/bin/sh\n# PowerShell 7.6.10 from the .NET tool installed here, in one process (written by tests/setup.sh).\nexec %q %q "$@"\n' \
    "$(command -v dotnet)" "${pwsh_dll[0]}" > "$tools_dir/pwsh/pwsh.launcher"
  chmod +x "$tools_dir/pwsh/pwsh.launcher"
  mv -f "$tools_dir/pwsh/pwsh.launcher" "$tools_dir/pwsh/pwsh"
  source tests/env.sh
fi
if ! pester_5; then
  echo "setup: installing Pester 5.9.1 into $tools_dir/modules"
  # A restore-only project downloads the NuGet package; its tools/ folder is the module. The restore's
  # intermediate files go under build/ too, so the source tree stays clean.
  dotnet restore tests/pester/PesterTools.csproj --packages "$tools_dir/packages" \
    -p:BaseIntermediateOutputPath="$tools_dir/pester-restore/" -nologo -v quiet
  mkdir -p "$tools_dir/modules"
  ln -sfn "$tools_dir/packages/pester/5.9.1/tools" "$tools_dir/modules/Pester"
  source tests/env.sh
fi
pester_5 || { echo "setup: Pester 5 is still not importable" >&2; exit 1; }
echo "setup: $(command -v pwsh) $(pwsh -NoProfile -NonInteractive -Command '"$($PSVersionTable.PSVersion), Pester $((Get-Module -ListAvailable Pester | Sort-Object Version -Descending)[0].Version)"')"

bash tests/build.sh
bash tests/demo.sh
