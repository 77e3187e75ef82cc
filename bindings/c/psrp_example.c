/*
 * A PowerShell session from C, with no PowerShell in this process: start a local PowerShell server
 * (`pwsh -s`), open a session on it, keep a variable between two invocations, run a command with
 * parameters and pipeline input, print what comes back as CLIXML and as typed values, show an error
 * record, and close the session.
 *
 * Build: cc -I bindings/c bindings/c/psrp_example.c -L target/release -lremote_sessions
 * Run:   ./psrp_example [path-to-pwsh]          (default: pwsh on PATH)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "remote_sessions.h"

/* Prints a failed call's error and frees it; returns 1 for main's exit code. */
static int report(const char *what, rsess_result r, rsess_error *err) {
    char *message = NULL;
    if (err != NULL)
        rsess_error_message(err, &message);
    fprintf(stderr, "%s failed (result %u): %s\n", what, (unsigned)r, message ? message : "");
    rsess_string_free(message);
    rsess_error_free(err);
    return 1;
}

static const char *stream_name(rsess_stream stream) {
    static const char *const names[] = {"output", "error", "warning", "verbose", "debug", "information", "progress"};
    return stream < sizeof names / sizeof names[0] ? names[stream] : "?";
}

/* An output object as a typed value where it has one, else as text. */
static void print_value(const rsess_psvalue *v) {
    rsess_value_kind kind = RSESS_PSVALUE_OTHER;
    rsess_psvalue_kind(v, &kind);
    int64_t i = 0;
    double d = 0;
    bool b = false;
    int64_t micros = 0;
    int16_t offset = 0;
    char *text = NULL;
    switch (kind) {
    case RSESS_PSVALUE_NULL:
        printf("  null\n");
        break;
    case RSESS_PSVALUE_INTEGER:
        rsess_psvalue_int64(v, &i);
        printf("  integer %" PRId64 "\n", i);
        break;
    case RSESS_PSVALUE_DOUBLE:
        rsess_psvalue_double(v, &d);
        printf("  double %g\n", d);
        break;
    case RSESS_PSVALUE_BOOL:
        rsess_psvalue_bool(v, &b);
        printf("  bool %s\n", b ? "true" : "false");
        break;
    case RSESS_PSVALUE_DATETIME:
        rsess_psvalue_datetime(v, &micros, &offset);
        printf("  datetime %" PRId64 " s after the Unix epoch (UTC%+d min)\n", micros / 1000000, offset);
        break;
    default:
        rsess_psvalue_text(v, &text);
        printf("  %s \"%s\"\n", kind == RSESS_PSVALUE_STRING ? "string" : "text", text);
        rsess_string_free(text);
        break;
    }
}

/* Reads everything a pipeline writes, then how it ended; frees it. */
static int drain(rsess_pipeline *p) {
    for (;;) {
        rsess_stream stream = RSESS_STREAM_OUTPUT;
        rsess_psvalue *v = NULL;
        rsess_error *err = NULL;
        rsess_result r = rsess_pipeline_next(p, 60000, &stream, &v, &err);
        if (r != RSESS_RESULT_OK) {
            rsess_pipeline_free(p);
            return report("rsess_pipeline_next", r, err);
        }
        if (v == NULL)
            break; /* ended, everything read */
        if (stream == RSESS_STREAM_OUTPUT) {
            char *clixml = NULL;
            rsess_psvalue_clixml(v, &clixml);
            printf("output %s\n", clixml);
            rsess_string_free(clixml);
            print_value(v);
        } else {
            char *text = NULL, *id = NULL;
            rsess_psvalue_record_text(v, stream, &text);
            printf("%s: %s\n", stream_name(stream), text);
            if (stream == RSESS_STREAM_ERROR) {
                int32_t category = 0;
                rsess_psvalue_error_id(v, &id);
                rsess_psvalue_error_category(v, &category);
                printf("  FullyQualifiedErrorId %s, category %d\n", id, category);
            }
            rsess_string_free(text);
            rsess_string_free(id);
        }
        rsess_psvalue_free(v);
    }
    rsess_invocation_state state = RSESS_INVOCATION_RUNNING;
    rsess_pipeline_state(p, &state);
    printf("pipeline ended %s\n", state == RSESS_INVOCATION_COMPLETED ? "Completed" : state == RSESS_INVOCATION_FAILED ? "Failed" : "otherwise");
    rsess_pipeline_free(p);
    return 0;
}

/* Runs a script and prints what it writes. */
static int run_script(rsess_pssession *s, const char *script) {
    rsess_pipeline *p = NULL;
    rsess_error *err = NULL;
    printf("> %s\n", script);
    rsess_result r = rsess_pssession_invoke_script(s, script, &p, &err);
    return r == RSESS_RESULT_OK ? drain(p) : report("rsess_pssession_invoke_script", r, err);
}

/* `10, 20, 30 | Select-Object -First 2`, built as a command with a parameter and pipeline input. */
static int run_command(rsess_pssession *s) {
    rsess_pscommand *select = NULL;
    rsess_psvalue *first = NULL, *input[3] = {NULL, NULL, NULL};
    rsess_pipeline *p = NULL;
    rsess_error *err = NULL;
    rsess_pscommand_new("Select-Object", false, &select, NULL);
    rsess_psvalue_new_int32(2, &first);
    rsess_pscommand_add_parameter(select, "First", first, NULL);
    for (int i = 0; i < 3; i++)
        rsess_psvalue_new_int32(10 * (i + 1), &input[i]);
    printf("> 10, 20, 30 | Select-Object -First 2\n");
    const rsess_pscommand *commands[] = {select};
    rsess_result r = rsess_pssession_invoke(s, commands, 1, (const rsess_psvalue *const *)input, 3, &p, &err);
    /* The session copied the command and the values: they can go now. */
    rsess_pscommand_free(select);
    rsess_psvalue_free(first);
    for (int i = 0; i < 3; i++)
        rsess_psvalue_free(input[i]);
    return r == RSESS_RESULT_OK ? drain(p) : report("rsess_pssession_invoke", r, err);
}

int main(int argc, char **argv) {
    const char *pwsh = argc > 1 ? argv[1] : "pwsh";
    const char *args[] = {"-s", "-NoLogo", "-NoProfile"};
    rsess_transport *t = NULL;
    rsess_pssession *s = NULL;
    rsess_error *err = NULL;
    rsess_result r = rsess_transport_process_new(pwsh, args, 3, &t, &err);
    if (r != RSESS_RESULT_OK)
        return report("rsess_transport_process_new", r, err);
    r = rsess_pssession_open(NULL, t, "example", 60000, &s, &err); /* on success it owns the transport */
    if (r != RSESS_RESULT_OK) {
        rsess_transport_free(t);
        return report("rsess_pssession_open", r, err);
    }
    char *name = NULL, *computer = NULL;
    rsess_pssession_name(s, &name);
    rsess_pssession_computer_name(s, &computer);
    printf("session %s on %s opened\n", name, computer);
    rsess_string_free(name);
    rsess_string_free(computer);

    int failures = run_script(s, "$x = 40");
    failures += run_script(s, "$x + 2; 'h\xc3\xa9llo'; 2.5; $true; [datetime]'2024-01-02T03:04:05Z'; $null; "
                              "@{ Name = 'disk'; Size = 1 }; Write-Warning 'careful'; Get-Item /no/such/file");
    failures += run_command(s);

    r = rsess_pssession_remove(NULL, s, &err); /* closes the runspace pool; the server exits */
    rsess_pssession_free(s);
    if (r != RSESS_RESULT_OK)
        return report("rsess_pssession_remove", r, err);
    printf("session closed\n");
    return failures == 0 ? 0 : 1;
}
