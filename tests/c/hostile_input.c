/* C tests of hostile and mistaken input (issue 16), run under valgrind: computer names that are not
 * host names are refused when the session is created, and a PSRP server that writes without ever ending
 * its line ends the transport with TRANSPORT_BROKEN instead of growing this process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_sessions.h"
#include "check.h"

/* The message of `err` (owned by the caller), or an empty string. */
static char *message_of(const rsess_error *err) {
    char *message = NULL;
    if (err == NULL || rsess_error_message(err, &message) != RSESS_RESULT_OK) return strdup("");
    return message;
}

static void free_message(char *m) { rsess_string_free(m); }

static void bad_computer_names(void) {
    const char *bad[] = {"127.0.0.1#frag", "localhost/m/ok?", "user@host", "host:8080", "http://host", "[::1", "a b"};
    rsess_scope *scope = NULL;
    CHECK(rsess_scope_new(&scope) == RSESS_RESULT_OK);
    rsess_session_options *opts = NULL;
    CHECK(rsess_session_options_new(RSESS_PROTOCOL_WSMAN, &opts) == RSESS_RESULT_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rsess_cim_session *s = NULL;
        rsess_error *err = NULL;
        rsess_result r = rsess_cim_session_new(scope, bad[i], NULL, opts, NULL, RSESS_SESSION_SKIP_TEST_CONNECTION, &s, &err);
        CHECK(r == RSESS_RESULT_INVALID_ARGUMENT && s == NULL);
        char *m = message_of(err);
        CHECK(strstr(m, bad[i]) != NULL && strstr(m, "not a valid computer name") != NULL);
        if (r != RSESS_RESULT_INVALID_ARGUMENT) fprintf(stderr, "  %s: %d %s\n", bad[i], (int)r, m);
        rsess_string_free(m);
        rsess_error_free(err);
    }
    /* Host names and address literals still make sessions; Ids were consumed only by these. */
    const char *good[] = {"srv-1.example.com", "127.0.0.1", "::1", "[::1]"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        rsess_cim_session *s = NULL;
        CHECK(rsess_cim_session_new(scope, good[i], NULL, opts, NULL, RSESS_SESSION_SKIP_TEST_CONNECTION, &s, NULL) == RSESS_RESULT_OK);
        uint32_t id = 0;
        CHECK(rsess_cim_session_id(s, &id) == RSESS_RESULT_OK && id == i + 1);
        rsess_cim_session_free(s);
    }
    /* A bad -HttpPrefix is named. */
    CHECK(rsess_session_options_set_http_prefix(opts, "ws man#x") == RSESS_RESULT_OK);
    rsess_cim_session *s = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_cim_session_new(scope, "srv", NULL, opts, NULL, RSESS_SESSION_SKIP_TEST_CONNECTION, &s, &err) == RSESS_RESULT_INVALID_ARGUMENT);
    char *m = message_of(err);
    CHECK(strstr(m, "'ws man#x'") != NULL);
    free_message(m);
    rsess_error_free(err);
    rsess_session_options_free(opts);
    rsess_scope_free(scope);
}

static void an_endless_line(void) {
    const char *args[] = {"-c", "echo first; exec cat /dev/zero"};
    rsess_transport *t = NULL;
    CHECK(rsess_transport_process_new("sh", args, 2, &t, NULL) == RSESS_RESULT_OK);
    char *line = NULL;
    CHECK(rsess_transport_receive(t, 60000, &line, NULL) == RSESS_RESULT_OK && line != NULL && strcmp(line, "first") == 0);
    rsess_string_free(line);
    line = NULL;
    /* cat never ends: only the line cap can break the transport (the deadline would be a Timeout). */
    rsess_error *err = NULL;
    CHECK(rsess_transport_receive(t, 120000, &line, &err) == RSESS_RESULT_TRANSPORT_BROKEN && line == NULL);
    char *m = message_of(err);
    CHECK(strstr(m, "longer than 64 MiB") != NULL);
    free_message(m);
    rsess_error_free(err);
    /* The server was stopped: the stream ends, and sending fails. */
    CHECK(rsess_transport_receive(t, 10000, &line, NULL) == RSESS_RESULT_OK && line == NULL);
    uint32_t pid = 1;
    CHECK(rsess_transport_pid(t, &pid) == RSESS_RESULT_OK && pid == 0);
    CHECK(rsess_transport_send(t, "x", NULL) == RSESS_RESULT_TRANSPORT_BROKEN);
    rsess_transport_free(t);
}

int main(void) {
    bad_computer_names();
    an_endless_line();
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
