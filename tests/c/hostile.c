/* C tests of the WS-Management reply reader against hostile servers: the replay server's hostile modes
 * (tests/replay-server/Hostile.cs, `/misbehave/<mode>/wsman`) answer requests about XYZ_Hostile with
 * replies nested 5000 deep, with 300k attributes, 120k nested namespace declarations, 65k namespace
 * URIs, 60 MB of tiny elements or a 50 MB fault reason, and `empty-pulls` answers every Pull with no
 * item and a fresh context. Each must end in a clear error (or, for the namespace URIs, a result), with
 * no crash, and the same session (or, after empty-pulls, another) must still work.
 * Run by tests/c/run.sh under valgrind: `hostile <port of rsess-replay>`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_sessions.h"
#include "check.h"

#define USER "rsess"
#define PASSWORD "Replay-Pa55"
/* A tested session (Identify answers normally in every mode) to the URL path `prefix`, asking for
 * envelopes of at most `envelope_kb` KiB (0 = the default, 512000 bytes). */
static rsess_cim_session *open_session(unsigned port, const char *prefix, uint32_t envelope_kb) {
    rsess_credential *cred = NULL;
    CHECK(rsess_credential_new(RSESS_AUTH_BASIC, USER, PASSWORD, &cred) == RSESS_RESULT_OK);
    rsess_session_options *o = NULL;
    CHECK(rsess_session_options_new(RSESS_PROTOCOL_WSMAN, &o) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_flag(o, RSESS_OPTION_NO_ENCRYPTION, true) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_port(o, port) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_http_prefix(o, prefix) == RSESS_RESULT_OK);
    if (envelope_kb != 0) CHECK(rsess_session_options_set_max_envelope_size_kb(o, envelope_kb) == RSESS_RESULT_OK);
    rsess_cim_session *s = NULL;
    CHECK(rsess_cim_session_new(NULL, "127.0.0.1", NULL, o, cred, 0, &s, NULL) == RSESS_RESULT_OK && s != NULL);
    rsess_session_options_free(o);
    rsess_credential_free(cred);
    return s;
}

/* Enumerates XYZ_Hostile to the end; the first failure's code and message (or OK and NULL), and the
 * number of instances read in `*count`. */
static rsess_result enumerate_hostile(const rsess_cim_session *s, char **message, size_t *count) {
    rsess_instance_iter *it = NULL;
    rsess_error *err = NULL;
    *message = NULL;
    *count = 0;
    rsess_result r = rsess_cim_enumerate(s, "root/test", "XYZ_Hostile", 0, NULL, &it, &err);
    while (r == RSESS_RESULT_OK) {
        rsess_instance *inst = NULL;
        r = rsess_instance_iter_next(it, &inst, &err);
        if (inst == NULL) break;
        (*count)++;
        rsess_instance_free(inst);
    }
    if (err != NULL) {
        CHECK(rsess_error_code(err) == r);
        CHECK(rsess_error_message(err, message) == RSESS_RESULT_OK && *message != NULL);
    }
    rsess_error_free(err);
    rsess_instance_iter_free(it);
    return r;
}

/* A normal enumeration on the same session still works after the hostile reply. */
static void still_works(const rsess_cim_session *s) {
    rsess_instance_iter *it = NULL;
    CHECK(rsess_cim_enumerate(s, "root/omi", "OMI_Identify", 0, NULL, &it, NULL) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL);
    rsess_instance_free(inst);
    rsess_instance_iter_free(it);
}

/* Mode `mode` with envelopes of `envelope_kb` KiB: the enumeration fails with `code` and a message
 * containing `says` (a reader that hung would end at the operation timeout instead, another result);
 * then the session still works. */
static void refused(unsigned port, const char *mode, uint32_t envelope_kb, rsess_result code, const char *says) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "misbehave/%s/wsman", mode);
    rsess_cim_session *s = open_session(port, prefix, envelope_kb);
    if (s == NULL) return;
    char *message = NULL;
    size_t count = 0;
    rsess_result r = enumerate_hostile(s, &message, &count);
    CHECK(r == code);
    CHECK(message != NULL && strstr(message, says) != NULL);
    /* The message names the limit; it never carries the server's megabytes. */
    CHECK(message != NULL && strlen(message) < 5000);
    if (r != code || message == NULL || strstr(message, says) == NULL)
        fprintf(stderr, "%s (%u KiB): result %u: %.300s\n", mode, (unsigned)envelope_kb, (unsigned)r, message ? message : "(none)");
    rsess_string_free(message);
    still_works(s);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

/* 65k namespace URIs are no error: the one instance comes back, its 65k `E` elements one array. */
static void many_namespaces(unsigned port) {
    rsess_cim_session *s = open_session(port, "misbehave/namespaces/wsman", 8192);
    if (s == NULL) return;
    rsess_instance_iter *it = NULL;
    CHECK(rsess_cim_enumerate(s, "root/test", "XYZ_Hostile", 0, NULL, &it, NULL) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL);
    size_t properties = 0, elements = 0;
    CHECK(rsess_instance_property_count(inst, &properties) == RSESS_RESULT_OK && properties == 2);
    CHECK(rsess_instance_property_array_len(inst, 1, &elements) == RSESS_RESULT_OK && elements == 65000);
    rsess_instance_free(inst);
    rsess_instance_iter_free(it);
    still_works(s);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

/* A Get whose reply nests 5000 deep: an error, the session still works. */
static void deep_get(unsigned port) {
    rsess_cim_session *s = open_session(port, "misbehave/deep/wsman", 0);
    if (s == NULL) return;
    const char *names[] = {"Name"}, *values[] = {"hostile"};
    rsess_instance *inst = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_cim_get_instance(s, "root/test", "XYZ_Hostile", names, values, 1, NULL, &inst, &err) == RSESS_RESULT_BAD_REPLY && inst == NULL);
    char *message = NULL;
    CHECK(rsess_error_message(err, &message) == RSESS_RESULT_OK && message != NULL && strstr(message, "deep") != NULL);
    rsess_string_free(message);
    rsess_error_free(err);
    still_works(s);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

/* An enumeration whose every Pull answers no item and a fresh context ends with a clear error after 64
 * of them (and Releases its context); a session to the normal endpoint still works afterwards. */
static void endless_empty_pages(unsigned port) {
    rsess_cim_session *s = open_session(port, "misbehave/empty-pulls/wsman", 0);
    if (s == NULL) return;
    rsess_instance_iter *it = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_cim_enumerate(s, "root/omi", "OMI_Identify", 0, NULL, &it, &err) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, &err) == RSESS_RESULT_BAD_REPLY && inst == NULL);
    char *message = NULL;
    CHECK(rsess_error_message(err, &message) == RSESS_RESULT_OK && message != NULL && strstr(message, "64 Pulls in a row with no instance") != NULL);
    rsess_string_free(message);
    rsess_error_free(err);
    rsess_instance_iter_free(it);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
    rsess_cim_session *normal = open_session(port, "wsman", 0);
    if (normal == NULL) return;
    still_works(normal);
    rsess_cim_session_remove(NULL, normal, NULL);
    rsess_cim_session_free(normal);
}

int main(int argc, char **argv) {
    unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    if (port == 0 || port > 65535) {
        fprintf(stderr, "usage: hostile <HTTP port of rsess-replay>\n");
        return 2;
    }
    refused(port, "deep", 0, RSESS_RESULT_BAD_REPLY, "more than 256 deep");
    deep_get(port);
    /* With the default MaxEnvelopeSize the megabyte replies are refused before they are read ... */
    refused(port, "attributes", 0, RSESS_RESULT_BAD_REPLY, "larger than 1089536 bytes");
    refused(port, "oversize", 0, RSESS_RESULT_BAD_REPLY, "larger than 1089536 bytes");
    refused(port, "hugefault", 0, RSESS_RESULT_BAD_REPLY, "larger than 1089536 bytes");
    /* ... and with room for them (8 MiB envelopes) the reader's own limits stop them early. */
    refused(port, "attributes", 8192, RSESS_RESULT_BAD_REPLY, "more than 256 attributes");
    refused(port, "xmlns", 8192, RSESS_RESULT_BAD_REPLY, "more than 256 namespace declarations");
    refused(port, "oversize", 8192, RSESS_RESULT_BAD_REPLY, "larger than 16842752 bytes");
    many_namespaces(port);
    endless_empty_pages(port);
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
