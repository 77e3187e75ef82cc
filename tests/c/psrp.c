/* C tests of PowerShell sessions the library opens (rsess_pssession_open, rsess_pssession_invoke,
 * rsess_pipeline_*, rsess_psvalue_*) against a real PowerShell server (`pwsh -s`; argv[1] or pwsh on
 * PATH): results, errors and misuse (NULLs, stale handles, a removed session, a pipeline read after it
 * was stopped, servers that fail) each give a result code, never undefined behaviour (run under
 * valgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_sessions.h"
#include "check.h"

static const char *pwsh = "pwsh";
static const char *const server_args[] = {"-s", "-NoLogo", "-NoProfile"};

static rsess_result open_session(rsess_scope *scope, rsess_pssession **s) {
    rsess_transport *t = NULL;
    rsess_result r = rsess_transport_process_new(pwsh, server_args, 3, &t, NULL);
    if (r != RSESS_RESULT_OK)
        return r;
    r = rsess_pssession_open(scope, t, NULL, 60000, s, NULL);
    if (r != RSESS_RESULT_OK)
        rsess_transport_free(t);
    return r;
}

static size_t registered(rsess_scope *scope) {
    rsess_pssession_list *list = NULL;
    size_t n = 99;
    rsess_pssession_find(scope, RSESS_LOOKUP_ALL, NULL, 0, &list, NULL);
    rsess_pssession_list_len(list, &n);
    rsess_pssession_list_free(list);
    return n;
}

/* Reads a pipeline to its end: the output texts joined by ',' into `out` (error records as "E:" and
 * their FullyQualifiedErrorId), and its state. */
static rsess_result drain(rsess_pipeline *p, char *out, size_t size, rsess_invocation_state *state) {
    out[0] = '\0';
    for (;;) {
        rsess_stream stream = 99;
        rsess_psvalue *v = NULL;
        rsess_result r = rsess_pipeline_next(p, 60000, &stream, &v, NULL);
        if (r != RSESS_RESULT_OK)
            return r;
        if (v == NULL)
            break;
        char *text = NULL;
        if (out[0] != '\0')
            strncat(out, ",", size - strlen(out) - 1);
        if (stream == RSESS_STREAM_ERROR) {
            rsess_psvalue_error_id(v, &text);
            strncat(out, "E:", size - strlen(out) - 1);
        } else {
            rsess_psvalue_record_text(v, stream, &text);
        }
        strncat(out, text, size - strlen(out) - 1);
        rsess_string_free(text);
        rsess_psvalue_free(v);
    }
    return rsess_pipeline_state(p, state);
}

static rsess_result run(rsess_pssession *s, const char *script, char *out, size_t size, rsess_invocation_state *state) {
    rsess_pipeline *p = NULL;
    rsess_result r = rsess_pssession_invoke_script(s, script, &p, NULL);
    if (r != RSESS_RESULT_OK)
        return r;
    r = drain(p, out, size, state);
    rsess_pipeline_free(p);
    return r;
}

static void servers_that_fail(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_transport *t = NULL;
    rsess_pssession *s = NULL;
    rsess_error *err = NULL;
    /* A server that ends at once. */
    CHECK(rsess_transport_process_new("true", NULL, 0, &t, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_open(scope, t, NULL, 30000, &s, &err) == RSESS_RESULT_TRANSPORT_BROKEN && s == NULL);
    CHECK(rsess_error_code(err) == RSESS_RESULT_TRANSPORT_BROKEN);
    rsess_error_free(err);
    rsess_transport_free(t); /* a failed open leaves the handle to the caller */
    /* A server that writes what is not PSRP. */
    const char *const chatty[] = {"-c", "echo hello; sleep 5"};
    CHECK(rsess_transport_process_new("sh", chatty, 2, &t, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_open(scope, t, NULL, 30000, &s, NULL) == RSESS_RESULT_BAD_REPLY && s == NULL);
    rsess_transport_free(t);
    /* A server that never answers. */
    const char *const deaf[] = {"30"};
    CHECK(rsess_transport_process_new("sleep", deaf, 1, &t, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_open(scope, t, NULL, 200, &s, NULL) == RSESS_RESULT_TIMEOUT && s == NULL);
    rsess_transport_free(t);
    CHECK(registered(scope) == 0); /* nothing half-registered */
    rsess_scope_free(scope);
}

static void values(void) {
    rsess_psvalue *v = NULL, *p = NULL;
    rsess_error *err = NULL;
    int64_t i = 0;
    char *text = NULL;
    CHECK(rsess_psvalue_new_string(NULL, &v, NULL) == RSESS_RESULT_NULL_ARGUMENT && v == NULL);
    CHECK(rsess_psvalue_new_string("x", NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_psvalue_from_clixml("<nope", &v, &err) == RSESS_RESULT_INVALID_ARGUMENT && v == NULL);
    CHECK(rsess_error_message(err, &text) == RSESS_RESULT_OK && strstr(text, "not CLIXML") != NULL);
    rsess_string_free(text);
    rsess_error_free(err);
    CHECK(rsess_psvalue_new_string("seven", &v, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_psvalue_int64(v, &i) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_psvalue_property(v, "Length", &p, NULL) == RSESS_RESULT_NOT_FOUND && p == NULL);
    CHECK(rsess_psvalue_record_text(v, 99, &text) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_psvalue_free(v);
    CHECK(rsess_psvalue_text(v, &text) == RSESS_RESULT_INVALID_HANDLE); /* stale */
    rsess_psvalue_free(v);                                                /* double free is ignored */
    rsess_psvalue_free(NULL);
    /* A hashtable from CLIXML, inside PSSerializer's <Objs> wrapper. */
    const char *table = "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj RefId=\"0\">"
                        "<TN RefId=\"0\"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT><En><S N=\"Key\">k</S>"
                        "<I64 N=\"Value\">-9000000000</I64></En></DCT></Obj></Objs>";
    CHECK(rsess_psvalue_from_clixml(table, &v, NULL) == RSESS_RESULT_OK);
    rsess_value_kind kind = 99;
    CHECK(rsess_psvalue_kind(v, &kind) == RSESS_RESULT_OK && kind == RSESS_PSVALUE_OBJECT);
    rsess_psvalue_free(v);
    CHECK(rsess_psvalue_kind(NULL, &kind) == RSESS_RESULT_NULL_ARGUMENT);
}

/* What the pipeline's commands, parameters and input carry arrives as the right types. */
/* SecureStrings: sent encrypted with the session key (the library exchanges it first) and read back
 * decrypted only through rsess_psvalue_securestring_text. */
static void secure_strings(rsess_pssession *s) {
    rsess_pscommand *c = NULL;
    rsess_psvalue *secret = NULL, *v = NULL;
    rsess_pipeline *p = NULL;
    rsess_value_kind kind = 0;
    rsess_stream stream = 99;
    char *text = NULL, out[256];
    rsess_invocation_state state = 0;
    CHECK(rsess_psvalue_new_securestring("p@ss w\xc3\xb6rd", &secret, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_psvalue_new_securestring(NULL, &v, NULL) == RSESS_RESULT_NULL_ARGUMENT && v == NULL);
    CHECK(rsess_psvalue_kind(secret, &kind) == RSESS_RESULT_OK && kind == RSESS_PSVALUE_SECURESTRING);
    /* Its text and CLIXML do not show it. */
    CHECK(rsess_psvalue_text(secret, &text) == RSESS_RESULT_OK && strcmp(text, "System.Security.SecureString") == 0);
    rsess_string_free(text);
    CHECK(rsess_psvalue_clixml(secret, &text) == RSESS_RESULT_OK && strstr(text, "p@ss") == NULL);
    rsess_string_free(text);
    CHECK(rsess_psvalue_securestring_text(secret, &text, NULL) == RSESS_RESULT_OK && strcmp(text, "p@ss w\xc3\xb6rd") == 0);
    rsess_string_free(text);
    CHECK(rsess_pscommand_new("param([securestring]$s) [System.Net.NetworkCredential]::new('', $s).Password -ceq 'p@ss w\xc3\xb6rd'",
                              true, &c, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pscommand_add_parameter(c, "s", secret, NULL) == RSESS_RESULT_OK);
    const rsess_pscommand *commands[] = {c};
    CHECK(rsess_pssession_invoke(s, commands, 1, NULL, 0, &p, NULL) == RSESS_RESULT_OK);
    CHECK(drain(p, out, sizeof out, &state) == RSESS_RESULT_OK && state == RSESS_INVOCATION_COMPLETED);
    CHECK(strcmp(out, "True") == 0);
    rsess_pipeline_free(p);
    /* One from the server. */
    CHECK(rsess_pssession_invoke_script(s, "ConvertTo-SecureString 'p@ss' -AsPlainText -Force", &p, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, NULL) == RSESS_RESULT_OK && v != NULL && stream == RSESS_STREAM_OUTPUT);
    CHECK(rsess_psvalue_kind(v, &kind) == RSESS_RESULT_OK && kind == RSESS_PSVALUE_SECURESTRING);
    CHECK(rsess_psvalue_securestring_text(v, &text, NULL) == RSESS_RESULT_OK && strcmp(text, "p@ss") == 0);
    rsess_string_free(text);
    CHECK(rsess_psvalue_text(v, &text) == RSESS_RESULT_OK && strcmp(text, "System.Security.SecureString") == 0);
    rsess_string_free(text);
    rsess_psvalue_free(v);
    v = NULL;
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, NULL) == RSESS_RESULT_OK && v == NULL);
    rsess_pipeline_free(p);
    /* Another kind has no SecureString text. */
    CHECK(rsess_psvalue_new_string("plain", &v, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_psvalue_securestring_text(v, &text, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_psvalue_securestring_text(v, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_psvalue_free(v);
    rsess_psvalue_free(secret);
    rsess_pscommand_free(c);
}

static void arguments_and_input(rsess_pssession *s) {
    rsess_pscommand *c = NULL;
    rsess_psvalue *a = NULL, *b = NULL, *d = NULL, *h = NULL, *in[2] = {NULL, NULL};
    rsess_pipeline *p = NULL;
    char out[512];
    rsess_invocation_state state = 0;
    CHECK(rsess_pscommand_new("param($i, $x, $f, $h, [switch]$on) process { '{0}:{1}:{2}:{3}:{4}:{5}:{6}' -f "
                              "$i.GetType().Name, $i, $x, $f.GetType().Name, $h.k, $on, $_ }",
                              true, &c, NULL) == RSESS_RESULT_OK);
    rsess_psvalue_new_int64(-9000000000, &a);
    rsess_psvalue_new_string("\xc3\xa9t\xc3\xa9 <&>", &b, NULL);
    rsess_psvalue_new_double(0.5, &d);
    rsess_psvalue_from_clixml("<Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Collections.Hashtable</T></TN><DCT><En><S N=\"Key\">k</S>"
                              "<B N=\"Value\">true</B></En></DCT></Obj>",
                              &h, NULL);
    CHECK(rsess_pscommand_add_parameter(c, "i", a, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pscommand_add_parameter(c, "-x", b, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pscommand_add_argument(c, d, NULL) == RSESS_RESULT_OK); /* positional: $f */
    CHECK(rsess_pscommand_add_parameter(c, "h", h, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pscommand_add_parameter(c, "on", NULL, NULL) == RSESS_RESULT_OK); /* a switch */
    CHECK(rsess_pscommand_add_parameter(c, "", a, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_pscommand_add_argument(c, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_psvalue_new_int32(1, &in[0]);
    rsess_psvalue_new_bool(false, &in[1]);
    const rsess_pscommand *commands[] = {c};
    CHECK(rsess_pssession_invoke(s, commands, 1, (const rsess_psvalue *const *)in, 2, &p, NULL) == RSESS_RESULT_OK);
    CHECK(drain(p, out, sizeof out, &state) == RSESS_RESULT_OK && state == RSESS_INVOCATION_COMPLETED);
    CHECK(strcmp(out, "Int64:-9000000000:\xc3\xa9t\xc3\xa9 <&>:Double:True:True:1,Int64:-9000000000:\xc3\xa9t\xc3\xa9 <&>:Double:True:True:False") == 0);
    rsess_pipeline_free(p);
    /* Misuse of invoke. */
    CHECK(rsess_pssession_invoke(s, commands, 0, NULL, 0, &p, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_pssession_invoke(s, NULL, 1, NULL, 0, &p, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_pssession_invoke(s, commands, 1, NULL, 2, &p, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_pssession_invoke(NULL, commands, 1, NULL, 0, &p, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_pssession_invoke(s, commands, 1, NULL, 0, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_pscommand_free(c);
    CHECK(rsess_pssession_invoke(s, commands, 1, NULL, 0, &p, NULL) == RSESS_RESULT_INVALID_HANDLE); /* stale command */
    rsess_pscommand_free(c);
    rsess_psvalue_free(a);
    rsess_psvalue_free(b);
    rsess_psvalue_free(d);
    rsess_psvalue_free(h);
    rsess_psvalue_free(in[0]);
    rsess_psvalue_free(in[1]);
}

static void a_session(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_pssession *s = NULL;
    char out[512], *text = NULL;
    rsess_invocation_state state = 0;
    rsess_session_state session_state = 0;
    CHECK(open_session(scope, &s) == RSESS_RESULT_OK);
    CHECK(registered(scope) == 1);
    CHECK(rsess_pssession_transport(s, &text) == RSESS_RESULT_OK && strcmp(text, "Process") == 0);
    rsess_string_free(text);
    CHECK(rsess_pssession_computer_name(s, &text) == RSESS_RESULT_OK && strcmp(text, "localhost") == 0);
    rsess_string_free(text);
    CHECK(rsess_pssession_name(s, &text) == RSESS_RESULT_OK && strncmp(text, "Runspace", 8) == 0);
    rsess_string_free(text);

    /* State is kept between pipelines; errors, warnings and a terminating error arrive as such. */
    CHECK(run(s, "$kept = 'yes'", out, sizeof out, &state) == RSESS_RESULT_OK && state == RSESS_INVOCATION_COMPLETED);
    CHECK(run(s, "$kept; Write-Warning 'w1'; Write-Error 'e1' -ErrorId MyId; 'after'", out, sizeof out, &state) == RSESS_RESULT_OK);
    CHECK(strcmp(out, "yes,w1,E:MyId,after") == 0);
    if (strcmp(out, "yes,w1,E:MyId,after") != 0)
        fprintf(stderr, "  got: %s\n", out);
    CHECK(state == RSESS_INVOCATION_COMPLETED);
    rsess_pipeline *p = NULL;
    CHECK(rsess_pssession_invoke_script(s, "'before'; throw 'boom'", &p, NULL) == RSESS_RESULT_OK);
    CHECK(drain(p, out, sizeof out, &state) == RSESS_RESULT_OK && state == RSESS_INVOCATION_FAILED && strcmp(out, "before") == 0);
    rsess_psvalue *reason = NULL;
    CHECK(rsess_pipeline_reason(p, &reason) == RSESS_RESULT_OK && reason != NULL);
    CHECK(rsess_psvalue_record_text(reason, RSESS_STREAM_ERROR, &text) == RSESS_RESULT_OK && strcmp(text, "boom") == 0);
    rsess_string_free(text);
    CHECK(rsess_psvalue_error_id(reason, &text) == RSESS_RESULT_OK && strcmp(text, "boom") == 0);
    rsess_string_free(text);
    rsess_psvalue_free(reason);
    rsess_pipeline_free(p);

    arguments_and_input(s);
    secure_strings(s);

    /* A pipeline that waits: a short wait times out, then it is stopped and read to its end. */
    CHECK(rsess_pssession_invoke_script(s, "'one'; 'two'; Start-Sleep 60; 'never'", &p, NULL) == RSESS_RESULT_OK);
    rsess_stream stream = 0;
    rsess_psvalue *v = NULL;
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, NULL) == RSESS_RESULT_OK && v != NULL);
    rsess_psvalue_free(v);
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, NULL) == RSESS_RESULT_OK && v != NULL);
    rsess_psvalue_free(v);
    v = NULL;
    CHECK(rsess_pipeline_next(p, 100, &stream, &v, NULL) == RSESS_RESULT_TIMEOUT && v == NULL);
    CHECK(rsess_pipeline_state(p, &state) == RSESS_RESULT_OK && state == RSESS_INVOCATION_RUNNING);
    CHECK(rsess_pipeline_stop(p, NULL) == RSESS_RESULT_OK);
    CHECK(drain(p, out, sizeof out, &state) == RSESS_RESULT_OK && state == RSESS_INVOCATION_STOPPED && out[0] == '\0');
    /* Read after the end: still the end. */
    CHECK(rsess_pipeline_next(p, 0, &stream, &v, NULL) == RSESS_RESULT_OK && v == NULL);
    CHECK(rsess_pipeline_next(p, 0, NULL, &v, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_pipeline_free(p);
    CHECK(rsess_pipeline_next(p, 0, &stream, &v, NULL) == RSESS_RESULT_INVALID_HANDLE);
    rsess_pipeline_free(p);
    /* The session still works after a stop. */
    CHECK(run(s, "$kept", out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "yes") == 0);

    /* Removing the session ends a pipeline still open on it, and the session itself. */
    CHECK(rsess_pssession_invoke_script(s, "Start-Sleep 60", &p, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, NULL) == RSESS_RESULT_INVALID_STATE);
    rsess_pipeline_free(p);
    CHECK(rsess_pssession_state(s, &session_state) == RSESS_RESULT_OK && session_state == 3 /* Closed */);
    CHECK(rsess_pssession_invoke_script(s, "1", &p, NULL) == RSESS_RESULT_INVALID_STATE);
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_NOT_FOUND);
    CHECK(registered(scope) == 0);
    rsess_pssession_free(s);
    CHECK(rsess_pssession_invoke_script(s, "1", &p, NULL) == RSESS_RESULT_INVALID_HANDLE);
    rsess_scope_free(scope);
}

/* A server that dies mid-pipeline: a clear error, and the session shows Broken. */
static void a_server_that_dies(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_pssession *s = NULL;
    rsess_pipeline *p = NULL;
    rsess_error *err = NULL;
    char out[256];
    rsess_invocation_state state = 0;
    CHECK(open_session(scope, &s) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_invoke_script(s, "'alive'; Stop-Process -Id $PID -Force", &p, NULL) == RSESS_RESULT_OK);
    rsess_stream stream = 0;
    rsess_psvalue *v = NULL;
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, NULL) == RSESS_RESULT_OK && v != NULL);
    rsess_psvalue_free(v);
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, &err) == RSESS_RESULT_TRANSPORT_BROKEN);
    char *message = NULL;
    CHECK(rsess_error_message(err, &message) == RSESS_RESULT_OK && strstr(message, "closed the connection") != NULL);
    rsess_string_free(message);
    rsess_error_free(err);
    rsess_pipeline_free(p);
    rsess_session_state session_state = 0;
    CHECK(rsess_pssession_state(s, &session_state) == RSESS_RESULT_OK && session_state == 5 /* Broken */);
    CHECK(run(s, "1", out, sizeof out, &state) == RSESS_RESULT_TRANSPORT_BROKEN);
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_OK);
    rsess_pssession_free(s);
    rsess_scope_free(scope);
}

/* A session PowerShell opened (registered, not opened here) runs nothing through the library. */
static void a_registered_session(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_pssession *s = NULL;
    rsess_pipeline *p = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_pssession_register(scope, NULL, 3, "0f8fad5b-d9cb-469f-a165-70867728950e", "web", "host", "SSH", &s, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_invoke_script(s, "1", &p, &err) == RSESS_RESULT_INVALID_STATE && p == NULL);
    char *message = NULL;
    CHECK(rsess_error_message(err, &message) == RSESS_RESULT_OK && strstr(message, "opened by PowerShell") != NULL);
    rsess_string_free(message);
    rsess_error_free(err);
    rsess_pssession_free(s);
    rsess_scope_free(scope);
}

int main(int argc, char **argv) {
    if (argc > 1)
        pwsh = argv[1];
    servers_that_fail();
    values();
    a_session();
    a_server_that_dies();
    a_registered_session();
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
