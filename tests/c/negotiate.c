/* C tests of Negotiate, Kerberos and NTLM through the C ABI against the test endpoint
 * tests/negotiate-server on a loopback realm (tests/kdc.sh): CIM sessions tested with Identify over
 * HTTP with every message sealed (MS-WSMV 2.2.9.1), and wrong passwords refused as ACCESS_DENIED with
 * the mechanism named and the password nowhere in the text. CredSSP likewise, its inner TLS certificate
 * (the endpoint's self-signed one) accepted only with the skip-CA and skip-CN options. Run by tests/c/run.sh under valgrind with
 * the realm's environment (KRB5_CONFIG, NTLM_USER_FILE, ...): `negotiate <HTTP port of rsess-negotiate>`. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_sessions.h"
#include "check.h"

/* A CIM session to 127.0.0.1:port (encrypted HTTP) as `user` with `mechanism`, with the skip-CA and
 * skip-CN options when `skip_checks`: checks that it ends with `expected` and, for an error, that its
 * message holds `needle` and not the password. */
static void session(rsess_scope *scope, unsigned port, rsess_authentication mechanism, const char *user, const char *password,
                    bool skip_checks, rsess_result expected, const char *needle) {
    rsess_credential *cred = NULL;
    CHECK(rsess_credential_new(mechanism, user, password, &cred) == RSESS_RESULT_OK);
    rsess_session_options *o = NULL;
    CHECK(rsess_session_options_new(RSESS_PROTOCOL_WSMAN, &o) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_port(o, port) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_flag(o, RSESS_OPTION_SKIP_CA_CHECK, skip_checks) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_flag(o, RSESS_OPTION_SKIP_CN_CHECK, skip_checks) == RSESS_RESULT_OK);
    rsess_cim_session *s = NULL;
    rsess_error *err = NULL;
    rsess_result r = rsess_cim_session_new(scope, "127.0.0.1", NULL, o, cred, 0, &s, &err);
    char *message = NULL;
    if (err != NULL) rsess_error_message(err, &message);
    CHECK(r == expected);
    if (r != expected) fprintf(stderr, "mechanism %u as %s: result %u %s\n", (unsigned)mechanism, user, (unsigned)r, message ? message : "");
    if (expected != RSESS_RESULT_OK) {
        CHECK(message != NULL && strstr(message, needle) != NULL && strstr(message, password) == NULL);
        if (message != NULL && strstr(message, needle) == NULL) fprintf(stderr, "expected '%s' in: %s\n", needle, message);
    } else {
        CHECK(s != NULL);
    }
    rsess_string_free(message);
    rsess_error_free(err);
    rsess_cim_session_free(s);
    rsess_session_options_free(o);
    rsess_credential_free(cred);
}

int main(int argc, char **argv) {
    unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    if (port == 0 || port > 65535) {
        fprintf(stderr, "usage: negotiate <HTTP port of rsess-negotiate>\n");
        return 2;
    }
    rsess_scope *scope = NULL;
    CHECK(rsess_scope_new(&scope) == RSESS_RESULT_OK);
    session(scope, port, RSESS_AUTH_NTLM_DOMAIN, "RSESS\\ann", "Ann-Ntlm-Pa55", false, RSESS_RESULT_OK, NULL);
    session(scope, port, RSESS_AUTH_KERBEROS, "ann@RSESS.TEST", "Ann-Krb-Pa55", false, RSESS_RESULT_OK, NULL);
    session(scope, port, RSESS_AUTH_NEGOTIATE, "ann@RSESS.TEST", "Ann-Krb-Pa55", false, RSESS_RESULT_OK, NULL);
    session(scope, port, RSESS_AUTH_NTLM_DOMAIN, "RSESS\\ann", "Wrong-Pa55", false, RSESS_RESULT_ACCESS_DENIED, "NTLM: logon failure");
    session(scope, port, RSESS_AUTH_KERBEROS, "ann@RSESS.TEST", "Wrong-Pa55", false, RSESS_RESULT_ACCESS_DENIED, "Kerberos: ");
    session(scope, port, RSESS_AUTH_CREDSSP, "RSESS\\ann", "Ann-Ntlm-Pa55", true, RSESS_RESULT_OK, NULL);
    session(scope, port, RSESS_AUTH_CREDSSP, "ann@RSESS.TEST", "Ann-Krb-Pa55", true, RSESS_RESULT_OK, NULL);
    session(scope, port, RSESS_AUTH_CREDSSP, "RSESS\\ann", "Wrong-Pa55", true, RSESS_RESULT_ACCESS_DENIED, "CredSSP: 127.0.0.1 refused the logon of 'RSESS\\ann': STATUS_LOGON_FAILURE");
    session(scope, port, RSESS_AUTH_CREDSSP, "RSESS\\ann", "Ann-Ntlm-Pa55", false, RSESS_RESULT_TLS_FAILED, "CredSSP: the TLS session inside CredSSP");
    rsess_scope_free(scope);
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
