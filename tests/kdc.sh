#!/usr/bin/env bash
# A throw-away MIT Kerberos realm on loopback for the authentication tests (Debian krb5-kdc and
# krb5-admin-server; gss-ntlmssp for NTLM): tests/kdc.sh DIR PORT writes into DIR (which must exist)
#   krb5.conf, kdc.conf   the realm RSESS.TEST, its KDC on 127.0.0.1:PORT (TCP and UDP)
#   principal/, stash     the database, made with kdb5_util and kadmin.local
#   http.keytab           the keys of HTTP/127.0.0.1 and HTTP/localhost (the test server's)
#   ntlm_users            the gss-ntlmssp user file (NTLM_USER_FILE): RSESS\ann
#   env                   the variables a client and a server use (KRB5_CONFIG, KRB5_KDC_PROFILE,
#                         KRB5CCNAME, KRB5_KTNAME, NTLM_USER_FILE, KRB5RCACHETYPE), one NAME=VALUE a line
# and then becomes the KDC (exec krb5kdc -n), so the caller stops the realm by stopping this process.
# Users: ann@RSESS.TEST with password Ann-Krb-Pa55, and NTLM RSESS\ann with password Ann-Ntlm-Pa55.
# Extra service principals (e.g. HTTP/127.0.0.1:5985) may be named in RSESS_KDC_EXTRA_SPNS, space-separated.
set -euo pipefail
dir="$(cd "${1:?usage: kdc.sh DIR PORT}" && pwd)"
port="${2:?usage: kdc.sh DIR PORT}"
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
kdb5_util create -s -r "$realm" -P "master-$RANDOM$RANDOM" >/dev/null
kadmin.local -q "addprinc -pw Ann-Krb-Pa55 ann@$realm" >/dev/null
for spn in HTTP/127.0.0.1 HTTP/localhost ${RSESS_KDC_EXTRA_SPNS:-}; do
  kadmin.local -q "addprinc -randkey $spn@$realm" >/dev/null
  kadmin.local -q "ktadd -k $dir/http.keytab $spn@$realm" >/dev/null
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
exec krb5kdc -n -P "$dir/kdc.pid"
