/* C tests of PowerShell sessions over WS-Management (rsess_transport_wsman_new, rsess_pssession_open,
 * _disconnect/_reconnect, rsess_shell_list_*, rsess_shell_commands_new, rsess_transport_wsman_connect_new,
 * rsess_transport_wsman_reconstruct_new,
 * rsess_pssession_connect/_attach) against tests/wsman-endpoint, which runs PowerShell's own WSMan plugin
 * behind Basic authentication on HTTP: argv[1] its HTTP port, argv[2] and argv[3] the user and password
 * it takes, argv[4] a pwsh for process sessions (misuse). A session keeps its state and is listed by
 * name; a disconnected one refuses pipelines and, reconnected, delivers what was written meanwhile;
 * another client connects to it and takes up a pipeline that ran on; misuse (NULLs, a shell id that is
 * not a GUID, the wrong kind of transport or session, a wrong password, bad list indexes, double frees)
 * gives result codes, never undefined behaviour (run under valgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "remote_sessions.h"
#include "check.h"

static const char *computer = "127.0.0.1";
static const char *user, *password, *pwsh;
static uint32_t port;

static rsess_session_options *options(void) {
    rsess_session_options *o = NULL;
    rsess_session_options_new(RSESS_PROTOCOL_WSMAN, &o);
    rsess_session_options_set_port(o, port);
    rsess_session_options_set_flag(o, RSESS_OPTION_NO_ENCRYPTION, true);
    return o;
}

static rsess_credential *credential(const char *pw) {
    rsess_credential *c = NULL;
    rsess_credential_new(RSESS_AUTH_BASIC, user, pw, &c);
    return c;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Opens a WS-Man session named `name` in `scope` (the shell takes the name too). */
static rsess_result open_wsman(rsess_scope *scope, const char *name, const char *pw, rsess_pssession **s, rsess_error **err) {
    rsess_session_options *o = options();
    rsess_credential *c = credential(pw);
    rsess_transport *t = NULL;
    rsess_result r = rsess_transport_wsman_new(computer, NULL, name, 0, o, c, &t, err);
    if (r == RSESS_RESULT_OK) {
        r = rsess_pssession_open(scope, t, name, 60000, s, err);
        rsess_transport_free(t); /* a no-op once the session took it over */
    }
    rsess_credential_free(c);
    rsess_session_options_free(o);
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

/* Field `field` of the shell named `name` on the endpoint, as an owned string (NULL: no such shell). */
static char *shell_field(const char *name, rsess_shell_field field) {
    rsess_session_options *o = options();
    rsess_credential *c = credential(password);
    rsess_shell_list *list = NULL;
    char *found = NULL;
    if (rsess_shell_list_new(computer, o, c, &list, NULL) == RSESS_RESULT_OK) {
        size_t n = 0;
        rsess_shell_list_len(list, &n);
        for (size_t i = 0; i < n && found == NULL; i++) {
            char *shell_name = NULL;
            rsess_shell_list_get(list, i, RSESS_SHELL_NAME, &shell_name);
            if (shell_name != NULL && strcmp(shell_name, name) == 0)
                rsess_shell_list_get(list, i, field, &found);
            rsess_string_free(shell_name);
        }
    }
    rsess_shell_list_free(list);
    rsess_credential_free(c);
    rsess_session_options_free(o);
    return found;
}

static int shell_exists(const char *name) {
    char *id = shell_field(name, RSESS_SHELL_ID);
    int exists = id != NULL;
    rsess_string_free(id);
    return exists;
}

/* Whether field `field` of shell `name` is `want` (case-insensitive). */
static int shell_field_is(const char *name, rsess_shell_field field, const char *want) {
    char *v = shell_field(name, field);
    int same = v != NULL && strcasecmp(v, want) == 0;
    rsess_string_free(v);
    return same;
}

/* Reads a pipeline to its end: the output texts joined by ',' into `out`, and its state. */
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

static rsess_result run(const rsess_pssession *s, const char *script, char *out, size_t size, rsess_invocation_state *state) {
    rsess_pipeline *p = NULL;
    rsess_result r = rsess_pssession_invoke_script(s, script, &p, NULL);
    if (r != RSESS_RESULT_OK)
        return r;
    r = drain(p, out, size, state);
    rsess_pipeline_free(p);
    return r;
}

static int is_state(const rsess_pssession *s, rsess_session_state want) {
    rsess_session_state st = 99;
    return rsess_pssession_state(s, &st) == RSESS_RESULT_OK && st == want;
}

static int is_guid(const char *text) {
    if (text == NULL || strlen(text) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        char ch = text[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return 0;
    }
    return 1;
}

enum { OPENED = 2, CLOSED = 3, DISCONNECTED = 7 };

/* Open, run with state kept, the session's registration, its shell listed by name, remove. */
static void a_session_keeps_state_and_is_listed(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_pssession *s = NULL;
    rsess_error *err = NULL;
    rsess_result r = open_wsman(scope, "c-winrs", password, &s, &err);
    CHECK(r == RSESS_RESULT_OK);
    if (r != RSESS_RESULT_OK) {
        char *m = NULL;
        rsess_error_message(err, &m);
        fprintf(stderr, "open failed: %d %s\n", r, m ? m : "");
        rsess_string_free(m);
        rsess_error_free(err);
        rsess_scope_free(scope);
        return;
    }
    CHECK(is_state(s, OPENED));
    CHECK(registered(scope) == 1);
    char *text = NULL;
    CHECK(rsess_pssession_transport(s, &text) == RSESS_RESULT_OK && text && strcmp(text, "WSMan") == 0);
    rsess_string_free(text);
    text = NULL;
    CHECK(rsess_pssession_computer_name(s, &text) == RSESS_RESULT_OK && text && strcmp(text, computer) == 0);
    rsess_string_free(text);
    text = NULL;
    CHECK(rsess_pssession_name(s, &text) == RSESS_RESULT_OK && text && strcmp(text, "c-winrs") == 0);
    rsess_string_free(text);

    char out[256];
    rsess_invocation_state state = 99;
    CHECK(run(s, "$x = 41", out, sizeof out, &state) == RSESS_RESULT_OK && out[0] == '\0' && state == RSESS_INVOCATION_COMPLETED);
    CHECK(run(s, "$x + 1", out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "42") == 0 && state == RSESS_INVOCATION_COMPLETED);
    CHECK(run(s, "Write-Error oops; 'after'", out, sizeof out, &state) == RSESS_RESULT_OK && strstr(out, "E:") == out && strstr(out, ",after") != NULL);

    /* Its shell, found by name. */
    CHECK(shell_field_is("c-winrs", RSESS_SHELL_STATE, "Connected"));
    CHECK(shell_field_is("c-winrs", RSESS_SHELL_OWNER, user));
    char *uri = shell_field("c-winrs", RSESS_SHELL_RESOURCE_URI);
    CHECK(uri != NULL && strcmp(uri, "http://schemas.microsoft.com/powershell/Microsoft.PowerShell") == 0);
    rsess_string_free(uri);
    char *shell_id = shell_field("c-winrs", RSESS_SHELL_ID);
    CHECK(is_guid(shell_id));
    char *instance = NULL;
    rsess_pssession_instance_id(s, &instance);
    CHECK(is_guid(instance));
    /* Its InstanceId is its runspace pool's id, the shell's ShellId (as rsess_pssession_connect gives). */
    CHECK(shell_id && instance && strcasecmp(shell_id, instance) == 0);
    rsess_string_free(instance);
    rsess_string_free(shell_id);

    /* Commands of a shell whose pipelines all ended: GUIDs (none, once ended pipelines are terminated). */
    shell_id = shell_field("c-winrs", RSESS_SHELL_ID);
    rsess_session_options *o = options();
    rsess_credential *c = credential(password);
    rsess_string_list *commands = NULL;
    size_t n = 99;
    CHECK(rsess_shell_commands_new(computer, shell_id, o, c, &commands, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_string_list_len(commands, &n) == RSESS_RESULT_OK && n <= 3);
    for (size_t i = 0; i < n; i++) {
        char *id = NULL;
        CHECK(rsess_string_list_get(commands, i, &id) == RSESS_RESULT_OK && is_guid(id));
        rsess_string_free(id);
    }
    /* Ended and freed pipelines are terminated on the server, which then forgets them. */
    CHECK(n == 0);
    rsess_string_list_free(commands);
    rsess_string_list_free(commands); /* stale: ignored */
    rsess_string_free(shell_id);

    /* A pipeline the shell does not have: the server's refusal (w:InvalidSelectors). */
    rsess_pipeline *p = NULL;
    CHECK(rsess_pssession_attach(s, "00000000-0000-0000-0000-000000000001", &p, NULL) != RSESS_RESULT_OK && p == NULL);

    /* Removing a connected session ends its shell. */
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_OK);
    CHECK(is_state(s, CLOSED));
    CHECK(registered(scope) == 0);
    CHECK(!shell_exists("c-winrs"));
    CHECK(rsess_pssession_invoke_script(s, "1", &p, NULL) == RSESS_RESULT_INVALID_STATE);
    CHECK(rsess_pssession_disconnect(s, 0, NULL) == RSESS_RESULT_INVALID_STATE);
    CHECK(rsess_pssession_reconnect(s, NULL) == RSESS_RESULT_INVALID_STATE);
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_NOT_FOUND);
    rsess_pssession_free(s);
    rsess_pssession_free(s); /* stale: ignored */
    CHECK(rsess_pssession_disconnect(s, 0, NULL) == RSESS_RESULT_INVALID_HANDLE);
    rsess_credential_free(c);
    rsess_session_options_free(o);
    rsess_scope_free(scope);
}

/* Disconnect: Disconnected, no new pipelines; reconnect: what was written meanwhile arrives. */
static void output_written_while_disconnected_arrives(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_pssession *s = NULL;
    CHECK(open_wsman(scope, "c-away", password, &s, NULL) == RSESS_RESULT_OK);
    rsess_pipeline *p = NULL;
    CHECK(rsess_pssession_invoke_script(s, "1..3 | ForEach-Object { Start-Sleep -Milliseconds 300; $_ }", &p, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_reconnect(s, NULL) == RSESS_RESULT_INVALID_STATE); /* not disconnected */
    CHECK(rsess_pssession_disconnect(s, 120000, NULL) == RSESS_RESULT_OK);
    CHECK(is_state(s, DISCONNECTED));
    rsess_error *err = NULL;
    CHECK(rsess_pssession_disconnect(s, 0, &err) == RSESS_RESULT_INVALID_STATE);
    CHECK(rsess_error_code(err) == RSESS_RESULT_INVALID_STATE);
    rsess_error_free(err);
    rsess_pipeline *refused = NULL;
    CHECK(rsess_pssession_invoke_script(s, "1", &refused, NULL) == RSESS_RESULT_INVALID_STATE && refused == NULL);
    CHECK(shell_field_is("c-away", RSESS_SHELL_STATE, "Disconnected"));
    sleep_ms(1500);
    CHECK(rsess_pssession_reconnect(s, NULL) == RSESS_RESULT_OK);
    CHECK(is_state(s, OPENED));
    CHECK(rsess_pssession_reconnect(s, NULL) == RSESS_RESULT_INVALID_STATE);
    CHECK(shell_field_is("c-away", RSESS_SHELL_STATE, "Connected"));
    char out[256];
    rsess_invocation_state state = 99;
    CHECK(drain(p, out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "1,2,3") == 0 && state == RSESS_INVOCATION_COMPLETED);
    rsess_pipeline_free(p);
    CHECK(run(s, "7", out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "7") == 0);
    /* Freeing the scope removes the session and ends its shell. */
    rsess_pssession_free(s);
    rsess_scope_free(scope);
    CHECK(!shell_exists("c-away"));
}

/* A second client connects to a disconnected session, finds its pipeline and takes it up. */
static void another_client_takes_up_a_pipeline(void) {
    rsess_scope *first = NULL, *second = NULL;
    rsess_scope_new(&first);
    rsess_scope_new(&second);
    rsess_pssession *s = NULL;
    CHECK(open_wsman(first, "c-nightly", password, &s, NULL) == RSESS_RESULT_OK);
    rsess_pipeline *p = NULL;
    CHECK(rsess_pssession_invoke_script(s, "'started'; Start-Sleep -Milliseconds 1500; 1; 2; 3", &p, NULL) == RSESS_RESULT_OK);
    /* Once it wrote something it runs on the server; what it writes after the disconnect waits there. */
    rsess_stream stream = 99;
    rsess_psvalue *v = NULL;
    char *text = NULL;
    CHECK(rsess_pipeline_next(p, 60000, &stream, &v, NULL) == RSESS_RESULT_OK && v != NULL && stream == RSESS_STREAM_OUTPUT);
    rsess_psvalue_record_text(v, stream, &text);
    CHECK(text && strcmp(text, "started") == 0);
    rsess_string_free(text);
    rsess_psvalue_free(v);
    CHECK(rsess_pssession_disconnect(s, 120000, NULL) == RSESS_RESULT_OK);
    rsess_pipeline_free(p);
    /* Removing a disconnected session lets it go; the server keeps it. */
    CHECK(rsess_pssession_remove(first, s, NULL) == RSESS_RESULT_OK);
    rsess_pssession_free(s);
    rsess_scope_free(first);
    CHECK(shell_field_is("c-nightly", RSESS_SHELL_STATE, "Disconnected"));
    char *shell_id = shell_field("c-nightly", RSESS_SHELL_ID);
    CHECK(is_guid(shell_id));
    if (!is_guid(shell_id)) {
        rsess_string_free(shell_id);
        rsess_scope_free(second);
        return;
    }

    rsess_session_options *o = options();
    rsess_credential *c = credential(password);
    rsess_string_list *commands = NULL;
    size_t n = 0;
    char *command = NULL;
    CHECK(rsess_shell_commands_new(computer, shell_id, o, c, &commands, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_string_list_len(commands, &n) == RSESS_RESULT_OK && n == 1);
    CHECK(rsess_string_list_get(commands, 0, &command) == RSESS_RESULT_OK && is_guid(command));
    rsess_string_list_free(commands);

    rsess_transport *t = NULL;
    CHECK(rsess_transport_wsman_connect_new(computer, NULL, shell_id, o, c, &t, NULL) == RSESS_RESULT_OK);
    rsess_pssession *taken = NULL;
    rsess_error *err = NULL;
    rsess_result r = rsess_pssession_connect(second, t, "c-taken", 60000, &taken, &err);
    CHECK(r == RSESS_RESULT_OK);
    if (r != RSESS_RESULT_OK) {
        char *m = NULL;
        rsess_error_message(err, &m);
        fprintf(stderr, "connect failed: %d %s\n", r, m ? m : "");
        rsess_string_free(m);
        rsess_error_free(err);
        rsess_transport_free(t);
    } else {
        rsess_transport_free(t); /* the session took it over: a no-op */
        CHECK(is_state(taken, OPENED));
        CHECK(registered(second) == 1);
        char *instance = NULL;
        CHECK(rsess_pssession_instance_id(taken, &instance) == RSESS_RESULT_OK && instance && strcasecmp(instance, shell_id) == 0);
        rsess_string_free(instance);
        text = NULL;
        CHECK(rsess_pssession_name(taken, &text) == RSESS_RESULT_OK && text && strcmp(text, "c-taken") == 0);
        rsess_string_free(text);
        text = NULL;
        CHECK(rsess_pssession_transport(taken, &text) == RSESS_RESULT_OK && text && strcmp(text, "WSMan") == 0);
        rsess_string_free(text);
        CHECK(shell_field_is("c-nightly", RSESS_SHELL_STATE, "Connected"));

        /* A third client cannot connect while the second holds it; nothing is registered. */
        rsess_scope *third = NULL;
        rsess_scope_new(&third);
        rsess_transport *t3 = NULL;
        rsess_pssession *s3 = NULL;
        CHECK(rsess_transport_wsman_connect_new(computer, NULL, shell_id, o, c, &t3, NULL) == RSESS_RESULT_OK);
        CHECK(rsess_pssession_connect(third, t3, NULL, 60000, &s3, NULL) != RSESS_RESULT_OK && s3 == NULL);
        CHECK(registered(third) == 0);
        rsess_transport_free(t3);
        rsess_scope_free(third);

        /* Attach: not a GUID, then the pipeline, then again. */
        rsess_pipeline *attached = NULL;
        CHECK(rsess_pssession_attach(taken, "not-a-guid", &attached, NULL) == RSESS_RESULT_INVALID_ARGUMENT && attached == NULL);
        CHECK(rsess_pssession_attach(taken, NULL, &attached, NULL) == RSESS_RESULT_NULL_ARGUMENT);
        CHECK(rsess_pssession_attach(taken, command, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
        CHECK(rsess_pssession_attach(taken, command, &attached, NULL) == RSESS_RESULT_OK);
        rsess_pipeline *twice = NULL;
        CHECK(rsess_pssession_attach(taken, command, &twice, NULL) == RSESS_RESULT_INVALID_STATE && twice == NULL);
        char out[256];
        rsess_invocation_state state = 99;
        CHECK(drain(attached, out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "1,2,3") == 0 && state == RSESS_INVOCATION_COMPLETED);
        rsess_pipeline_free(attached);
        attached = NULL;
        /* Once the attached pipeline ended and its handle was freed, the server has forgotten it. */
        CHECK(rsess_pssession_attach(taken, command, &attached, NULL) != RSESS_RESULT_OK && attached == NULL);
        CHECK(run(taken, "6", out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "6") == 0 && state == RSESS_INVOCATION_COMPLETED);

        /* The connected session disconnects and reconnects as any other. */
        CHECK(rsess_pssession_disconnect(taken, 120000, NULL) == RSESS_RESULT_OK);
        CHECK(is_state(taken, DISCONNECTED));
        CHECK(rsess_pssession_reconnect(taken, NULL) == RSESS_RESULT_OK);
        CHECK(run(taken, "$PID -gt 0", out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "True") == 0);

        CHECK(rsess_pssession_remove(second, taken, NULL) == RSESS_RESULT_OK);
        CHECK(registered(second) == 0);
        CHECK(!shell_exists("c-nightly"));
        rsess_pssession_free(taken);
    }
    rsess_string_free(command);
    rsess_string_free(shell_id);
    rsess_credential_free(c);
    rsess_session_options_free(o);
    rsess_scope_free(second);
}

/* rsess_transport_wsman_reconstruct_new: a client that opens a runspace pool (here the library's own
 * rsess_pssession_open) is connected to the pool of a disconnected shell, with its state. */
static void an_opening_client_is_connected_to_a_disconnected_pool(void) {
    rsess_scope *first = NULL, *second = NULL;
    rsess_scope_new(&first);
    rsess_scope_new(&second);
    rsess_pssession *s = NULL;
    char out[256];
    rsess_invocation_state state = 99;
    CHECK(open_wsman(first, "c-kept", password, &s, NULL) == RSESS_RESULT_OK);
    CHECK(run(s, "$x = 41", out, sizeof out, &state) == RSESS_RESULT_OK && state == RSESS_INVOCATION_COMPLETED);
    CHECK(rsess_pssession_disconnect(s, 120000, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_remove(first, s, NULL) == RSESS_RESULT_OK);
    rsess_pssession_free(s);
    rsess_scope_free(first);
    char *shell_id = shell_field("c-kept", RSESS_SHELL_ID);
    CHECK(is_guid(shell_id));

    rsess_session_options *o = options();
    rsess_credential *c = credential(password);
    rsess_transport *t = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_transport_wsman_reconstruct_new(computer, NULL, "not-a-guid", o, c, &t, &err) == RSESS_RESULT_INVALID_ARGUMENT && t == NULL);
    rsess_error_free(err);
    CHECK(rsess_transport_wsman_reconstruct_new(computer, NULL, NULL, o, c, &t, NULL) == RSESS_RESULT_NULL_ARGUMENT && t == NULL);
    if (is_guid(shell_id) && rsess_transport_wsman_reconstruct_new(computer, NULL, shell_id, o, c, &t, NULL) == RSESS_RESULT_OK) {
        /* It connects by itself: rsess_pssession_connect, which sends its own connect, refuses it. */
        rsess_pssession *refused = NULL;
        CHECK(rsess_pssession_connect(second, t, NULL, 60000, &refused, NULL) == RSESS_RESULT_INVALID_ARGUMENT && refused == NULL);
        rsess_pssession *opened = NULL;
        CHECK(rsess_pssession_open(second, t, "c-reconstructed", 60000, &opened, NULL) == RSESS_RESULT_OK);
        rsess_transport_free(t);
        if (opened) {
            CHECK(run(opened, "$x + 1", out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "42") == 0);
            CHECK(shell_field_is("c-kept", RSESS_SHELL_STATE, "Connected"));
            CHECK(rsess_pssession_remove(second, opened, NULL) == RSESS_RESULT_OK);
            CHECK(!shell_exists("c-kept"));
            rsess_pssession_free(opened);
        }
    }
    rsess_string_free(shell_id);
    rsess_credential_free(c);
    rsess_session_options_free(o);
    rsess_scope_free(second);
}

static void wrong_password_registers_nothing(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_pssession *s = NULL;
    rsess_error *err = NULL;
    rsess_result r = open_wsman(scope, "c-refused", "wrong", &s, &err);
    CHECK(r == RSESS_RESULT_ACCESS_DENIED && s == NULL);
    uint16_t refused = 0;
    CHECK(rsess_error_http_status(err, &refused) == RSESS_RESULT_OK && refused == 401);
    char *m = NULL;
    CHECK(rsess_error_message(err, &m) == RSESS_RESULT_OK && m && strstr(m, "401") != NULL);
    if (m && strstr(m, "wrong"))
        CHECK(!"the message carries the password");
    rsess_string_free(m);
    rsess_error_free(err);
    CHECK(registered(scope) == 0);
    CHECK(!shell_exists("c-refused"));

    /* Listing shells with the wrong password: ACCESS_DENIED with the HTTP status. */
    rsess_session_options *o = options();
    rsess_credential *c = credential("wrong");
    rsess_shell_list *list = NULL;
    err = NULL;
    CHECK(rsess_shell_list_new(computer, o, c, &list, &err) == RSESS_RESULT_ACCESS_DENIED && list == NULL);
    uint16_t status = 0;
    CHECK(rsess_error_http_status(err, &status) == RSESS_RESULT_OK && status == 401);
    rsess_error_free(err);
    rsess_string_list *commands = NULL;
    CHECK(rsess_shell_commands_new(computer, "00000000-0000-0000-0000-000000000001", o, c, &commands, NULL) == RSESS_RESULT_ACCESS_DENIED);
    rsess_credential_free(c);
    /* An unknown shell: the server's fault. */
    c = credential(password);
    CHECK(rsess_shell_commands_new(computer, "00000000-0000-0000-0000-000000000001", o, c, &commands, NULL) != RSESS_RESULT_OK && commands == NULL);
    /* Connecting to a shell that does not exist: refused, nothing registered. */
    rsess_transport *t = NULL;
    CHECK(rsess_transport_wsman_connect_new(computer, NULL, "00000000-0000-0000-0000-000000000001", o, c, &t, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_connect(scope, t, NULL, 60000, &s, NULL) != RSESS_RESULT_OK && s == NULL);
    CHECK(registered(scope) == 0);
    rsess_transport_free(t);
    rsess_credential_free(c);
    rsess_session_options_free(o);
    rsess_scope_free(scope);
}

static void misuse(void) {
    rsess_session_options *o = options();
    rsess_credential *c = credential(password);
    rsess_transport *t = NULL;
    rsess_error *err = NULL;
    const char *guid = "00000000-0000-0000-0000-000000000001";

    /* NULL arguments. */
    CHECK(rsess_transport_wsman_new(computer, NULL, NULL, 0, o, c, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_transport_wsman_new(NULL, NULL, NULL, 0, o, c, &t, NULL) == RSESS_RESULT_NULL_ARGUMENT && t == NULL);
    CHECK(rsess_transport_wsman_connect_new(NULL, NULL, guid, o, c, &t, NULL) == RSESS_RESULT_NULL_ARGUMENT && t == NULL);
    CHECK(rsess_transport_wsman_connect_new(computer, NULL, NULL, o, c, &t, NULL) == RSESS_RESULT_NULL_ARGUMENT && t == NULL);
    CHECK(rsess_transport_wsman_connect_new(computer, NULL, guid, o, c, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_shell_list *list = NULL;
    CHECK(rsess_shell_list_new(NULL, o, c, &list, NULL) == RSESS_RESULT_NULL_ARGUMENT && list == NULL);
    CHECK(rsess_shell_list_new(computer, o, c, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_string_list *commands = NULL;
    CHECK(rsess_shell_commands_new(NULL, guid, o, c, &commands, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_shell_commands_new(computer, NULL, o, c, &commands, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_shell_commands_new(computer, guid, o, c, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(commands == NULL);
    CHECK(rsess_transport_disconnect(NULL, 0, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_transport_reconnect(NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_pssession_disconnect(NULL, 0, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_pssession_reconnect(NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_pssession *s = NULL;
    CHECK(rsess_pssession_connect(NULL, NULL, NULL, 1000, &s, NULL) == RSESS_RESULT_NULL_ARGUMENT && s == NULL);
    rsess_pipeline *p = NULL;
    CHECK(rsess_pssession_attach(NULL, guid, &p, NULL) == RSESS_RESULT_NULL_ARGUMENT && p == NULL);
    size_t n = 0;
    CHECK(rsess_shell_list_len(NULL, &n) == RSESS_RESULT_NULL_ARGUMENT);
    char *text = NULL;
    CHECK(rsess_shell_list_get(NULL, 0, RSESS_SHELL_ID, &text) == RSESS_RESULT_NULL_ARGUMENT && text == NULL);

    /* A shell id that is not a GUID. */
    CHECK(rsess_transport_wsman_connect_new(computer, NULL, "not-a-guid", o, c, &t, &err) == RSESS_RESULT_INVALID_ARGUMENT && t == NULL);
    CHECK(rsess_error_code(err) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_error_free(err);
    err = NULL;
    CHECK(rsess_transport_wsman_connect_new(computer, NULL, "", o, c, &t, NULL) == RSESS_RESULT_INVALID_ARGUMENT && t == NULL);

    /* Basic over HTTP without the no-encryption option. */
    rsess_session_options *plain = NULL;
    rsess_session_options_new(RSESS_PROTOCOL_WSMAN, &plain);
    rsess_session_options_set_port(plain, port);
    CHECK(rsess_transport_wsman_new(computer, NULL, NULL, 0, plain, c, &t, NULL) == RSESS_RESULT_INVALID_ARGUMENT && t == NULL);
    rsess_session_options_free(plain);

    /* Bad list index and field. */
    CHECK(rsess_shell_list_new(computer, o, c, &list, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_shell_list_len(list, &n) == RSESS_RESULT_OK);
    CHECK(rsess_shell_list_get(list, n, RSESS_SHELL_ID, &text) == RSESS_RESULT_INVALID_ARGUMENT && text == NULL);
    CHECK(rsess_shell_list_get(list, (size_t)-1, RSESS_SHELL_ID, &text) == RSESS_RESULT_INVALID_ARGUMENT && text == NULL);
    CHECK(rsess_shell_list_len(list, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_shell_list_free(list);
    rsess_shell_list_free(list); /* stale: ignored */
    rsess_shell_list_free(NULL);
    CHECK(rsess_shell_list_len(list, &n) == RSESS_RESULT_INVALID_HANDLE);
    /* With a shell in the list: an unknown field, a NULL out. */
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    CHECK(open_wsman(scope, "c-misuse", password, &s, NULL) == RSESS_RESULT_OK);
    list = NULL;
    CHECK(rsess_shell_list_new(computer, o, c, &list, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_shell_list_len(list, &n) == RSESS_RESULT_OK && n >= 1);
    CHECK(rsess_shell_list_get(list, 0, RSESS_SHELL_BUFFER_MODE + 1, &text) == RSESS_RESULT_INVALID_ARGUMENT && text == NULL);
    CHECK(rsess_shell_list_get(list, 0, 9999, &text) == RSESS_RESULT_INVALID_ARGUMENT && text == NULL);
    CHECK(rsess_shell_list_get(list, 0, RSESS_SHELL_ID, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    /* Every field reads (NULL where the server said nothing). */
    for (rsess_shell_field f = RSESS_SHELL_ID; f <= RSESS_SHELL_BUFFER_MODE; f++) {
        text = NULL;
        CHECK(rsess_shell_list_get(list, 0, f, &text) == RSESS_RESULT_OK);
        rsess_string_free(text);
    }
    text = NULL;
    rsess_shell_list_free(list);
    /* A transport of a session (taken over) is no longer a handle. */
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_OK);
    rsess_pssession_free(s);
    s = NULL;

    /* A WS-Man transport that was never opened: disconnect and reconnect are out of place; its
     * pipelines may be made to start disconnected. */
    CHECK(rsess_transport_wsman_new(computer, NULL, NULL, 0, o, c, &t, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_transport_reconnect(t, NULL) == RSESS_RESULT_INVALID_STATE);
    CHECK(rsess_transport_start_pipelines_disconnected(t, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_transport_start_pipelines_disconnected(NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    /* pssession_connect wants a transport from rsess_transport_wsman_connect_new. */
    CHECK(rsess_pssession_connect(scope, t, NULL, 60000, &s, NULL) == RSESS_RESULT_INVALID_ARGUMENT && s == NULL);
    rsess_transport_free(t);
    rsess_transport_free(t); /* stale: ignored */
    CHECK(rsess_transport_disconnect(t, 0, NULL) == RSESS_RESULT_INVALID_HANDLE);
    t = NULL;

    /* Process transports and sessions: no connect, no disconnect. */
    const char *const args[] = {"-s", "-NoLogo", "-NoProfile"};
    CHECK(rsess_transport_process_new(pwsh, args, 3, &t, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_transport_disconnect(t, 0, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(rsess_transport_reconnect(t, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(rsess_transport_start_pipelines_disconnected(t, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(rsess_pssession_connect(scope, t, NULL, 60000, &s, &err) == RSESS_RESULT_INVALID_ARGUMENT && s == NULL);
    CHECK(rsess_error_code(err) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_error_free(err);
    err = NULL;
    CHECK(registered(scope) == 0);
    /* The refused transport is still the caller's, and still opens a session. */
    CHECK(rsess_pssession_open(scope, t, NULL, 60000, &s, NULL) == RSESS_RESULT_OK);
    rsess_transport_free(t);
    CHECK(rsess_pssession_disconnect(s, 0, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(rsess_pssession_reconnect(s, NULL) == RSESS_RESULT_INVALID_STATE); /* the state is checked first */
    CHECK(rsess_pssession_set_state(s, DISCONNECTED) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_reconnect(s, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(rsess_pssession_set_state(s, OPENED) == RSESS_RESULT_OK);
    CHECK(is_state(s, OPENED));
    CHECK(rsess_pssession_attach(s, guid, &p, NULL) == RSESS_RESULT_NOT_SUPPORTED && p == NULL);
    char out[64];
    rsess_invocation_state state = 99;
    CHECK(run(s, "5", out, sizeof out, &state) == RSESS_RESULT_OK && strcmp(out, "5") == 0);
    rsess_pssession_free(s);

    /* Frees of NULL and twice. */
    rsess_string_list_free(NULL);
    rsess_transport_free(NULL);
    rsess_pssession_free(NULL);
    rsess_credential_free(c);
    rsess_credential_free(c);
    rsess_session_options_free(o);
    rsess_session_options_free(o);
    rsess_scope_free(scope);
    rsess_scope_free(scope);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HTTP_PORT USER PASSWORD PWSH\n", argv[0]);
        return 2;
    }
    port = (uint32_t)strtoul(argv[1], NULL, 10);
    user = argv[2];
    password = argv[3];
    pwsh = argv[4];
    a_session_keeps_state_and_is_listed();
    output_written_while_disconnected_arrives();
    another_client_takes_up_a_pipeline();
    an_opening_client_is_connected_to_a_disconnected_pool();
    wrong_password_registers_nothing();
    misuse();
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
