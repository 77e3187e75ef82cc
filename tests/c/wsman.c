/* C tests of CIM sessions over WS-Management against the replay server (tests/replay-server), which
 * answers only requests matching the recorded OMI traffic: a session tested with Identify, an
 * Enumerate, a WQL query typed by the class schema, associators and references, a class declaration, refused credentials, a closed port and cancelling
 * an iterator. Run by tests/c/run.sh under valgrind: `wsman <port of rsess-replay>`. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "remote_sessions.h"
#include "check.h"

/* The replay server's default Basic credentials (tests/replay-server/README.md). */
#define USER "rsess"
#define PASSWORD "Replay-Pa55"
#define WRONG_PASSWORD "Not-The-Pa55word"


/* Options for Basic over HTTP to `port`, with `prefix` as the URL path (NULL = wsman). */
static rsess_session_options *http_options(unsigned port, const char *prefix) {
    rsess_session_options *o = NULL;
    CHECK(rsess_session_options_new(RSESS_PROTOCOL_WSMAN, &o) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_flag(o, RSESS_OPTION_NO_ENCRYPTION, true) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_port(o, port) == RSESS_RESULT_OK);
    if (prefix != NULL) CHECK(rsess_session_options_set_http_prefix(o, prefix) == RSESS_RESULT_OK);
    return o;
}

/* A session to 127.0.0.1 with the right credentials; NULL (and a failed check) if it cannot be made. */
static rsess_cim_session *open_session(rsess_scope *scope, unsigned port, const char *prefix, uint32_t flags) {
    rsess_credential *cred = NULL;
    CHECK(rsess_credential_new(RSESS_AUTH_BASIC, USER, PASSWORD, &cred) == RSESS_RESULT_OK);
    rsess_session_options *o = http_options(port, prefix);
    rsess_cim_session *s = NULL;
    rsess_error *err = NULL;
    rsess_result r = rsess_cim_session_new(scope, "127.0.0.1", NULL, o, cred, flags, &s, &err);
    CHECK(r == RSESS_RESULT_OK && s != NULL);
    if (r != RSESS_RESULT_OK) {
        char *msg = NULL;
        rsess_error_message(err, &msg);
        fprintf(stderr, "rsess_cim_session_new: %u %s\n", (unsigned)r, msg ? msg : "");
        rsess_string_free(msg);
    }
    rsess_error_free(err);
    rsess_session_options_free(o);
    rsess_credential_free(cred);
    return s;
}

/* The index of property `name`, or the property count when there is none. */
static size_t property_index(const rsess_instance *inst, const char *name) {
    size_t count = 0;
    rsess_instance_property_count(inst, &count);
    for (size_t p = 0; p < count; p++) {
        char *n = NULL;
        rsess_instance_property_name(inst, p, &n);
        int same = n != NULL && strcmp(n, name) == 0;
        rsess_string_free(n);
        if (same) return p;
    }
    return count;
}

/* Whether property `name` has the text value `expected`. */
static int has_value(const rsess_instance *inst, const char *name, const char *expected) {
    char *v = NULL;
    rsess_instance_property_value(inst, property_index(inst, name), &v);
    int same = v != NULL && strcmp(v, expected) == 0;
    rsess_string_free(v);
    return same;
}

/* A port on 127.0.0.1 that nothing listens on: bound by the system, then closed again. */
static unsigned closed_port(void) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) close(fd);
        return 1; /* port 1 is privileged and closed on a test machine */
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void identify_and_enumerate(unsigned port) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_cim_session *s = open_session(scope, port, NULL, 0); /* tested with Identify */
    char *protocol = NULL;
    CHECK(rsess_cim_session_protocol(s, &protocol) == RSESS_RESULT_OK && protocol != NULL && strcmp(protocol, "WSMAN") == 0);
    rsess_string_free(protocol);

    rsess_instance_iter *it = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_cim_enumerate(s, "root/omi", "OMI_Identify", 0, NULL, &it, &err) == RSESS_RESULT_OK && err == NULL);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL);
    char *cls = NULL, *server = NULL, *ns = NULL;
    CHECK(rsess_instance_class_name(inst, &cls) == RSESS_RESULT_OK && strcmp(cls, "OMI_Identify") == 0);
    CHECK(rsess_instance_server_name(inst, &server) == RSESS_RESULT_OK && strcmp(server, "127.0.0.1") == 0);
    CHECK(rsess_instance_namespace(inst, &ns) == RSESS_RESULT_OK && strcmp(ns, "root/omi") == 0);
    CHECK(has_value(inst, "ProductName", "OMI"));
    rsess_string_free(cls);
    rsess_string_free(server);
    rsess_string_free(ns);
    rsess_instance_free(inst);
    inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst == NULL);
    rsess_instance_iter_free(it);

    /* WQL: two rows, Key typed UInt32 from MSFT_President's declaration (fetched with GetClass). */
    CHECK(rsess_cim_query(s, NULL, "WQL", "SELECT Key,Last FROM MSFT_President WHERE First = 'James'", 0, NULL, &it, &err) == RSESS_RESULT_OK);
    const char *keys[] = {"4", "5"}, *lasts[] = {"Madison", "Monroe"};
    size_t rows = 0;
    while (rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL) {
        if (rows < 2) {
            rsess_cim_type type = 0;
            CHECK(rsess_instance_property_type(inst, property_index(inst, "Key"), &type) == RSESS_RESULT_OK && type == RSESS_CIM_TYPE_UINT32);
            CHECK(has_value(inst, "Key", keys[rows]));
            CHECK(has_value(inst, "Last", lasts[rows]));
        }
        rows++;
        rsess_instance_free(inst);
    }
    CHECK(rows == 2);
    rsess_instance_iter_free(it);
    CHECK(rsess_cim_session_remove(scope, s, NULL) == RSESS_RESULT_OK);
    rsess_cim_session_free(s);
    rsess_scope_free(scope);
}

/* Associators and References of MSFT_President Key=1, answered by OMI's recordings. */
static void associations(unsigned port) {
    rsess_cim_session *s = open_session(NULL, port, NULL, RSESS_SESSION_SKIP_TEST_CONNECTION);
    const char *names[] = {"Key"}, *values[] = {"1"};
    rsess_instance_iter *it = NULL;
    rsess_error *err = NULL;
    const rsess_instance_name president = {"MSFT_President", names, values, 1};
    const rsess_association_filter links = {"MSFT_PresidentLink", "Prev", "MSFT_President", "Next"};
    CHECK(rsess_cim_associators(s, "root/cimv2", &president, &links, 0, NULL, &it, &err) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL);
    char *cls = NULL;
    CHECK(rsess_instance_class_name(inst, &cls) == RSESS_RESULT_OK && cls != NULL && strcmp(cls, "MSFT_President") == 0);
    CHECK(has_value(inst, "Key", "2") && has_value(inst, "Last", "Adams"));
    rsess_string_free(cls);
    rsess_instance_free(inst);
    inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst == NULL);
    rsess_instance_iter_free(it);

    it = NULL;
    const rsess_association_filter referring = {NULL, "Prev", "MSFT_PresidentLink", NULL};
    CHECK(rsess_cim_references(s, "root/cimv2", &president, &referring, 0, NULL, &it, &err) == RSESS_RESULT_OK);
    inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL);
    rsess_cim_type type = 0;
    CHECK(rsess_instance_property_type(inst, property_index(inst, "Next"), &type) == RSESS_RESULT_OK && type == RSESS_CIM_TYPE_REFERENCE);
    CHECK(has_value(inst, "Prev", "MSFT_President.Key=\"1\"") && has_value(inst, "Next", "MSFT_President.Key=\"2\""));
    rsess_instance_free(inst);
    rsess_instance_iter_free(it);

    /* A filter the recordings do not have: the server's fault comes back, nothing is left open. */
    it = NULL;
    CHECK(rsess_cim_references(s, "root/cimv2", &president, NULL, RSESS_OPERATION_SHALLOW, NULL, &it, &err) == RSESS_RESULT_INVALID_ARGUMENT && it == NULL);
    rsess_error_free(err);
    err = NULL;
    CHECK(rsess_cim_associators(s, "root/cimv2", &president, NULL, 0, NULL, &it, &err) == RSESS_RESULT_FAULT && it == NULL && err != NULL);
    /* The fault's detail: a SOAP fault code, no CIM status for this one. */
    char *fault = NULL;
    CHECK(rsess_error_fault_code(err, &fault) == RSESS_RESULT_OK && fault != NULL && strlen(fault) > 0);
    rsess_string_free(fault);
    rsess_error_free(err);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

/* GetClass of MSFT_President as OMI declares it; listing classes is a fault on OMI. */
static void class_declarations(unsigned port) {
    rsess_cim_session *s = open_session(NULL, port, NULL, RSESS_SESSION_SKIP_TEST_CONNECTION);
    rsess_class *c = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_cim_get_class(s, "root\\cimv2", "MSFT_President", NULL, &c, &err) == RSESS_RESULT_OK && c != NULL);
    char *name = NULL, *super = NULL, *ns = NULL, *server = NULL;
    CHECK(rsess_class_name(c, &name) == RSESS_RESULT_OK && strcmp(name, "MSFT_President") == 0);
    CHECK(rsess_class_superclass(c, &super) == RSESS_RESULT_OK && super == NULL);
    CHECK(rsess_class_namespace(c, &ns) == RSESS_RESULT_OK && strcmp(ns, "root/cimv2") == 0);
    CHECK(rsess_class_server_name(c, &server) == RSESS_RESULT_OK && strcmp(server, "127.0.0.1") == 0);
    rsess_string_free(name);
    rsess_string_free(ns);
    rsess_string_free(server);
    size_t count = 0, methods = 1;
    CHECK(rsess_class_property_count(c, &count) == RSESS_RESULT_OK && count == 3);
    CHECK(rsess_class_method_count(c, &methods) == RSESS_RESULT_OK && methods == 0);
    const char *names[] = {"Key", "First", "Last"};
    const rsess_cim_type types[] = {RSESS_CIM_TYPE_UINT32, RSESS_CIM_TYPE_STRING, RSESS_CIM_TYPE_STRING};
    for (size_t p = 0; p < 3; p++) {
        char *pn = NULL, *ref = NULL;
        rsess_cim_type t = 0;
        uint32_t q = 99;
        CHECK(rsess_class_property(c, p, &pn, &t, &q, &ref) == RSESS_RESULT_OK && pn != NULL && strcmp(pn, names[p]) == 0);
        CHECK(t == types[p] && q == 0 && ref == NULL);
        rsess_string_free(pn);
    }
    CHECK(rsess_class_property(c, 3, NULL, NULL, NULL, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_class_free(c);

    rsess_class_list *list = NULL;
    CHECK(rsess_cim_classes(s, "root/cimv2", NULL, &list, &err) != RSESS_RESULT_OK && list == NULL && err != NULL);
    rsess_error_free(err);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

static void refused_and_unreachable(unsigned port) {
    rsess_credential *wrong = NULL;
    CHECK(rsess_credential_new(RSESS_AUTH_BASIC, USER, WRONG_PASSWORD, &wrong) == RSESS_RESULT_OK);
    rsess_session_options *o = http_options(port, NULL);
    rsess_cim_session *s = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_cim_session_new(NULL, "127.0.0.1", NULL, o, wrong, 0, &s, &err) == RSESS_RESULT_ACCESS_DENIED && s == NULL);
    CHECK(rsess_error_code(err) == RSESS_RESULT_ACCESS_DENIED);
    char *msg = NULL;
    CHECK(rsess_error_message(err, &msg) == RSESS_RESULT_OK && msg != NULL);
    CHECK(msg != NULL && strstr(msg, WRONG_PASSWORD) == NULL && strstr(msg, "127.0.0.1") != NULL);
    rsess_string_free(msg);
    rsess_error_free(err);
    rsess_session_options_free(o);

    rsess_credential *cred = NULL;
    rsess_credential_new(RSESS_AUTH_BASIC, USER, PASSWORD, &cred);
    o = http_options(closed_port(), NULL);
    err = NULL;
    CHECK(rsess_cim_session_new(NULL, "127.0.0.1", NULL, o, cred, 0, &s, &err) == RSESS_RESULT_CONNECTION_FAILED && s == NULL);
    CHECK(rsess_error_code(err) == RSESS_RESULT_CONNECTION_FAILED);
    rsess_error_free(err);
    rsess_session_options_free(o);
    rsess_credential_free(cred);
    rsess_credential_free(wrong);
}

static void cancelling(unsigned port) {
    /* A synthetic enumeration at a URL of its own, so its class is not described yet and the first
     * _next has to go to the server for the declaration (GetClass): once the iterator is cancelled,
     * that _next returns CANCELLED instead. */
    rsess_cim_session *s = open_session(NULL, port, "wsman?synthetic=3", RSESS_SESSION_SKIP_TEST_CONNECTION);
    rsess_cancel *token = NULL;
    CHECK(rsess_cancel_new(&token) == RSESS_RESULT_OK);
    rsess_instance_iter *it = NULL;
    CHECK(rsess_cim_enumerate(s, "root/test", "XYZ_Number", 0, token, &it, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_instance_iter_cancel(it) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, &err) == RSESS_RESULT_CANCELLED && inst == NULL);
    CHECK(rsess_error_code(err) == RSESS_RESULT_CANCELLED);
    rsess_error_free(err);
    rsess_instance_iter_free(it);

    /* The token stays cancelled: a new operation given it stops before sending anything. */
    it = NULL;
    CHECK(rsess_cim_enumerate(s, "root/omi", "OMI_Identify", 0, token, &it, NULL) == RSESS_RESULT_CANCELLED && it == NULL);
    rsess_cancel_free(token);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

int main(int argc, char **argv) {
    unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    if (port == 0 || port > 65535) {
        fprintf(stderr, "usage: wsman <HTTP port of rsess-replay>\n");
        return 2;
    }
    identify_and_enumerate(port);
    associations(port);
    class_declarations(port);
    refused_and_unreachable(port);
    cancelling(port);
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
