/* C tests of client certificate credentials through the C ABI against rsess-replay's client
 * certificate port (--client-ca, the test CA of tests/client-certs.sh): a credential from a PEM file,
 * a .pfx with and without its password (and one in RC2-40, OpenSSL's legacy provider) and a
 * thumbprint found in the store folder (named, or $RSESS_CERTIFICATE_STORE) opens a session over HTTPS; a certificate the CA did not issue is
 * refused; files without a key, wrong passwords, unknown thumbprints and HTTP are clear errors.
 * Run by tests/c/run.sh under valgrind:
 * `certificate <mutual HTTPS port> <folder of tests/client-certs.sh> <store folder>`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_sessions.h"
#include "check.h"

static const char *certs;

/* The path of `name` in the certificates' folder (a static buffer). */
static const char *at(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", certs, name);
    return path;
}

/* The message of `err` contains `needle` (and the error is freed). */
static int says(rsess_error *err, const char *needle) {
    char *message = NULL;
    int ok = err != NULL && rsess_error_message(err, &message) == RSESS_RESULT_OK && strstr(message, needle) != NULL;
    if (!ok) fprintf(stderr, "expected '%s' in: %s\n", needle, message ? message : "(no message)");
    rsess_string_free(message);
    rsess_error_free(err);
    return ok;
}

/* A session with `cred` to 127.0.0.1:port over HTTPS (or HTTP when !ssl); its result. */
static rsess_result session(rsess_scope *scope, unsigned port, const rsess_credential *cred, int ssl, rsess_error **err) {
    rsess_session_options *o = NULL;
    CHECK(rsess_session_options_new(RSESS_PROTOCOL_WSMAN, &o) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_port(o, port) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_flag(o, RSESS_OPTION_USE_SSL, ssl) == RSESS_RESULT_OK);
    /* The server's certificate is a throwaway self-signed one. */
    CHECK(rsess_session_options_set_flag(o, RSESS_OPTION_SKIP_CA_CHECK, true) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_flag(o, RSESS_OPTION_SKIP_CN_CHECK, true) == RSESS_RESULT_OK);
    rsess_cim_session *s = NULL;
    rsess_result r = rsess_cim_session_new(scope, "127.0.0.1", NULL, o, cred, 0, &s, err);
    CHECK((r == RSESS_RESULT_OK) == (s != NULL));
    rsess_cim_session_free(s);
    rsess_session_options_free(o);
    return r;
}

/* A credential from the file `name` (with `password`) opens a session. */
static void file_works(rsess_scope *scope, unsigned port, const char *name, const char *password) {
    rsess_credential *cred = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_credential_new_certificate_file(at(name), password, &cred, &err) == RSESS_RESULT_OK);
    if (err != NULL) CHECK(says(err, "(none)"));
    err = NULL;
    rsess_result r = session(scope, port, cred, true, &err);
    CHECK(r == RSESS_RESULT_OK);
    if (r != RSESS_RESULT_OK) CHECK(says(err, "(none)"));
    rsess_credential_free(cred);
}

int main(int argc, char **argv) {
    unsigned port = argc > 3 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    if (port == 0 || port > 65535) {
        fprintf(stderr, "usage: certificate <mutual HTTPS port> <certificates folder> <store folder>\n");
        return 2;
    }
    certs = argv[2];
    rsess_scope *scope = NULL;
    CHECK(rsess_scope_new(&scope) == RSESS_RESULT_OK);

    file_works(scope, port, "client.pem", NULL);
    file_works(scope, port, "client-ec.pem", NULL);
    file_works(scope, port, "client.pfx", NULL);
    file_works(scope, port, "client-pw.pfx", "Pfx-Pa55");
    file_works(scope, port, "client-legacy.pfx", NULL);

    rsess_credential *cred = NULL;
    rsess_error *err = NULL;
    /* A certificate the server's CA did not issue: the TLS handshake is refused. */
    CHECK(rsess_credential_new_certificate_file(at("other.pem"), NULL, &cred, NULL) == RSESS_RESULT_OK);
    rsess_result r = session(scope, port, cred, true, &err);
    CHECK(r == RSESS_RESULT_TLS_FAILED || r == RSESS_RESULT_CONNECTION_FAILED);
    rsess_error_free(err);
    err = NULL;
    /* Over HTTP: refused before any connection. */
    CHECK(session(scope, port, cred, false, &err) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(says(err, "HTTPS"));
    err = NULL;
    rsess_credential_free(cred);
    cred = NULL;

    CHECK(rsess_credential_new_certificate_file(at("client.crt"), NULL, &cred, &err) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(cred == NULL && says(err, "no private key"));
    err = NULL;
    CHECK(rsess_credential_new_certificate_file(at("mismatch.pem"), NULL, &cred, &err) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(says(err, "does not belong"));
    err = NULL;
    CHECK(rsess_credential_new_certificate_file(at("client-pw.pfx"), "wrong", &cred, &err) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(says(err, "password"));
    err = NULL;
    CHECK(rsess_credential_new_certificate_file(at("missing.pem"), NULL, &cred, &err) == RSESS_RESULT_IO);
    CHECK(says(err, "missing.pem"));
    err = NULL;
    CHECK(rsess_credential_new_certificate_file(NULL, NULL, &cred, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_credential_new_certificate_file(at("client.pem"), NULL, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);

    /* By thumbprint, from the store folder. */
    char thumbprint[64] = {0};
    FILE *f = fopen(at("client.thumbprint"), "r");
    CHECK(f != NULL && fgets(thumbprint, sizeof thumbprint, f) != NULL);
    if (f != NULL) fclose(f);
    thumbprint[strcspn(thumbprint, "\r\n")] = '\0';
    CHECK(rsess_credential_new_certificate_thumbprint(thumbprint, argv[3], &cred, &err) == RSESS_RESULT_OK);
    if (err != NULL) CHECK(says(err, "(none)"));
    err = NULL;
    CHECK(session(scope, port, cred, true, NULL) == RSESS_RESULT_OK);
    rsess_credential_free(cred);
    cred = NULL;
    /* The folder from the environment when none is named. */
    CHECK(setenv("RSESS_CERTIFICATE_STORE", argv[3], 1) == 0);
    CHECK(rsess_credential_new_certificate_thumbprint(thumbprint, NULL, &cred, NULL) == RSESS_RESULT_OK);
    rsess_credential_free(cred);
    cred = NULL;
    CHECK(rsess_credential_new_certificate_thumbprint("00112233445566778899aabbccddeeff00112233", NULL, &cred, &err) == RSESS_RESULT_NOT_FOUND);
    CHECK(cred == NULL && says(err, argv[3]));
    err = NULL;
    CHECK(rsess_credential_new_certificate_thumbprint("not a thumbprint", NULL, &cred, &err) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(says(err, "thumbprint"));

    rsess_scope_free(scope);
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
