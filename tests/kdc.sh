#!/usr/bin/env bash
# A throw-away MIT Kerberos realm on loopback for the authentication tests (Debian krb5-kdc and
# krb5-admin-server; gss-ntlmssp for NTLM): tests/kdc.sh PORT (0: a free port) makes a temporary folder
# DIR and writes
#   krb5.conf, kdc.conf   the realm RSESS.TEST, its KDC on 127.0.0.1:PORT (TCP and UDP)
#   principal/, stash     the database, made with kdb5_util and kadmin.local
#   http.keytab           the keys of HTTP/127.0.0.1 and HTTP/localhost (the test server's)
#   ntlm_users            the gss-ntlmssp user file (NTLM_USER_FILE): RSESS\ann
#   env                   the variables a client and a server use (KRB5_CONFIG, KRB5_KDC_PROFILE,
#                         KRB5CCNAME, KRB5_KTNAME, NTLM_USER_FILE, KRB5RCACHETYPE), one NAME=VALUE a line
# then starts the KDC, prints "ready DIR" once it accepts connections, and runs until its standard input
# ends (the test process that started it exits): then it stops the KDC and removes DIR.
# Users: ann@RSESS.TEST with password Ann-Krb-Pa55, and NTLM RSESS\ann with password Ann-Ntlm-Pa55.
# Extra service principals (e.g. HTTP/127.0.0.1:5985) may be named in RSESS_KDC_EXTRA_SPNS, space-separated.
set -euo pipefail
port="${1:?usage: kdc.sh PORT (0: a free one)}"
if [ "$port" = 0 ]; then
  # A port nothing listens on (the KDC binds it a moment later).
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
fi
dir="$(mktemp -d "${TMPDIR:-/tmp}/rsess-kdc.XXXXXX")"
kdc=""
trap '[ -n "$kdc" ] && kill "$kdc" 2>/dev/null; wait; rm -rf "$dir"' EXIT
realm=RSESS.TEST
PATH="$PATH:/usr/sbin:/sbin"

cat > "$dir/krb5.conf" <<EOF
[libdefaults]
  default_realm = $realm
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  ignore_acceptor_hostname = true
  udp_preference_limit = 1
[realms]
  $realm = {
    kdc = 127.0.0.1:$port
  }
[domain_realm]
  127.0.0.1 = $realm
  localhost = $realm
EOF
cat > "$dir/kdc.conf" <<EOF
[kdcdefaults]
  kdc_listen = 127.0.0.1:$port
  kdc_tcp_listen = 127.0.0.1:$port
[realms]
  $realm = {
    database_name = $dir/principal
    key_stash_file = $dir/stash
    acl_file = $dir/kadm5.acl
    max_life = 1h
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
[logging]
  kdc = FILE:$dir/kdc.log
EOF
: > "$dir/kadm5.acl"
export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf"
trap 'cat "$dir/setup.log" >&2' ERR
kdb5_util create -s -r "$realm" -P "master-$RANDOM$RANDOM" >>"$dir/setup.log" 2>&1
kadmin.local -q "addprinc -pw Ann-Krb-Pa55 ann@$realm" >>"$dir/setup.log" 2>&1
for spn in HTTP/127.0.0.1 HTTP/localhost ${RSESS_KDC_EXTRA_SPNS:-}; do
  kadmin.local -q "addprinc -randkey $spn@$realm" >>"$dir/setup.log" 2>&1
  kadmin.local -q "ktadd -k $dir/http.keytab $spn@$realm" >>"$dir/setup.log" 2>&1
done
printf 'RSESS:ann:Ann-Ntlm-Pa55\n' > "$dir/ntlm_users"
cat > "$dir/env" <<EOF
KRB5_CONFIG=$dir/krb5.conf
KRB5_KDC_PROFILE=$dir/kdc.conf
KRB5CCNAME=FILE:$dir/ccache
KRB5_KTNAME=FILE:$dir/http.keytab
NTLM_USER_FILE=$dir/ntlm_users
KRB5RCACHETYPE=none
EOF
krb5kdc -n -P "$dir/kdc.pid" </dev/null >/dev/null 2>&1 &
kdc=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "ready $dir"
    cat >/dev/null || true
    exit 0
  fi
  kill -0 "$kdc" 2>/dev/null || { echo "kdc.sh: krb5kdc exited; see $dir/kdc.log" >&2; cat "$dir/kdc.log" >&2; exit 1; }
  sleep 0.05
done
echo "kdc.sh: the KDC does not listen on 127.0.0.1:$port" >&2
exit 1
