#!/usr/bin/env bash
# Builds everything, runs nothing: the cdylib and header (cargo; build.rs runs cbindgen), the module
# (with the C# library and the native library inside) under build/module/RemoteSessions, the engine host
# under build/host, the test PSRP server under build/psrp-server, the WS-Man replay server under
# build/replay-server, the Negotiate/Kerberos/NTLM test endpoint under build/negotiate-server, the
# WS-Management (WinRS) endpoint that runs PowerShell's own WS-Man server code under build/wsman-endpoint
# (a library loaded into pwsh, and the libpsrpomiprov.so shim it hands the engine), the xunit test
# project and the C# example.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo"
cargo build --release --quiet
dotnet build module/RemoteSessions.csproj -c Release -o "$module_dir" -nologo -v quiet
dotnet build tests/host/RemoteSessions.TestHost.csproj -c Release -o "$repo/build/host" -nologo -v quiet
dotnet build tests/psrp-server/RemoteSessions.PsrpServer.csproj -c Release -o "$repo/build/psrp-server" -nologo -v quiet
dotnet build tests/replay-server/RemoteSessions.ReplayServer.csproj -c Release -o "$repo/build/replay-server" -nologo -v quiet
dotnet build tests/negotiate-server/RemoteSessions.NegotiateServer.csproj -c Release -o "$repo/build/negotiate-server" -nologo -v quiet
dotnet build tests/wsman-endpoint/RemoteSessions.WsmanEndpoint.csproj -c Release -o "$repo/build/wsman-endpoint" -nologo -v quiet
gcc -shared -fPIC -O2 -Wall -Wextra -Wl,-soname,libpsrpomiprov.so -o "$repo/build/wsman-endpoint/libpsrpomiprov.so" tests/wsman-endpoint/shim.c
dotnet build tests/dotnet/RemoteSessions.Tests/RemoteSessions.Tests.csproj -c Release -nologo -v quiet
dotnet build bindings/dotnet/example/RemoteSessions.Example.csproj -c Release -o "$repo/build/csharp-example" -nologo -v quiet
echo "build: module in $module_dir"
