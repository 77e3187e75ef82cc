#!/usr/bin/env bash
# Test certificates for client certificate authentication, made with the openssl command into the
# folder $1 (created): a test CA (ca.pem) whose certificate rsess-replay --client-ca trusts, and
#   client.pem      an RSA client certificate issued by the CA with its PKCS#8 key ("PRIVATE KEY")
#   client-rsa.pem  the same certificate with its key as PKCS#1 ("RSA PRIVATE KEY"), the CA after it
#   client.pfx      the same as PKCS#12 without a password, client-pw.pfx with the password Pfx-Pa55,
#                   client-legacy.pfx with RC2-40 (OpenSSL's -legacy, as older Windows exports)
#   client.crt      the certificate alone (no key)
#   client-ec.pem   an ECDSA P-256 client certificate issued by the CA, its key as SEC1 ("EC PRIVATE KEY")
#   other.pem       a self-signed client certificate the CA did not issue, with its key
#   mismatch.pem    client's certificate with other's key
# and <name>.thumbprint files (SHA-1, upper-case hex, as Windows shows thumbprints) for client,
# client-ec and other. Prints nothing; exits non-zero when openssl fails.
set -euo pipefail
dir="$1"
mkdir -p "$dir"
cd "$dir"
q() { "$@" >/dev/null 2>&1 || { echo "client-certs.sh: failed: $*" >&2; "$@"; exit 1; }; }
printf 'extendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' > client.ext
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 3 \
  -subj "/CN=RemoteSessions Test CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
issue() { # name keyfile subject
  q openssl req -new -key "$2" -out "$1.csr" -subj "$3"
  q openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3 -extfile client.ext
}
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out client.key
issue client client.key "/CN=rsess-client"
cat client.crt client.key > client.pem
q openssl pkey -in client.key -traditional -out client.rsa.key
cat client.rsa.key client.crt ca.pem > client-rsa.pem
q openssl pkcs12 -export -in client.crt -inkey client.key -out client.pfx -passout pass:
q openssl pkcs12 -export -in client.crt -inkey client.key -out client-pw.pfx -passout pass:Pfx-Pa55
q openssl pkcs12 -export -legacy -in client.crt -inkey client.key -out client-legacy.pfx -passout pass:
q openssl ecparam -name prime256v1 -genkey -noout -out client-ec.key
issue client-ec client-ec.key "/CN=rsess-client-ec"
cat client-ec.crt client-ec.key > client-ec.pem
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.crt -days 3 \
  -subj "/CN=rsess-other" -addext extendedKeyUsage=clientAuth -addext basicConstraints=critical,CA:FALSE
cat other.crt other.key > other.pem
cat client.crt other.key > mismatch.pem
for n in client client-ec other; do
  openssl x509 -in "$n.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' > "$n.thumbprint"
done
rm -f ./*.csr ./*.srl client.ext
