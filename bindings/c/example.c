/* A whole CIM session from C: create a local session, find it by name, print Win32_OperatingSystem's
 * properties with their CIM types, run a WQL query, remove the session and free everything.
 * Build: cc -std=c11 -Ibindings/c bindings/c/example.c -Ltarget/release -lremote_sessions \
 *           -Wl,-rpath,$PWD/target/release -o example */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "remote_sessions.h"

static const char *type_name(rsess_cim_type t) {
    static const char *const names[] = {
        "Unknown", "Boolean", "UInt8", "SInt8", "UInt16", "SInt16", "UInt32", "SInt32", "UInt64", "SInt64",
        "Real32", "Real64", "Char16", "DateTime", "String", "Reference", "Instance"};
    static char buf[40];
    if (t <= RSESS_CIM_TYPE_INSTANCE) return names[t];
    if (t <= RSESS_CIM_TYPE_INSTANCE_ARRAY) {
        snprintf(buf, sizeof buf, "%sArray", names[t - 16]);
        return buf;
    }
    return "?";
}

/* Prints the failure and frees the error; returns 1 for use as an exit code. */
static int fail(const char *what, rsess_result r, rsess_error *err) {
    char *msg = NULL;
    if (err != NULL && rsess_error_message(err, &msg) == RSESS_RESULT_OK) {
        fprintf(stderr, "%s failed (%u): %s\n", what, (unsigned)r, msg);
        rsess_string_free(msg);
    } else {
        fprintf(stderr, "%s failed (%u)\n", what, (unsigned)r);
    }
    rsess_error_free(err);
    return 1;
}

static void print_property(const rsess_instance *inst, size_t p) {
    char *name = NULL, *value = NULL;
    rsess_cim_type type = 0;
    rsess_instance_property_name(inst, p, &name);
    rsess_instance_property_type(inst, p, &type);
    printf("  %-24s %-10s ", name, type_name(type));
    if (type >= RSESS_CIM_TYPE_BOOLEAN_ARRAY) {
        size_t n = 0;
        rsess_instance_property_array_len(inst, p, &n);
        printf("{%zu elements}\n", n);
    } else if (rsess_instance_property_value(inst, p, &value) == RSESS_RESULT_OK && value != NULL) {
        printf("%s\n", value);
    } else {
        printf("(null)\n");
    }
    rsess_string_free(name);
    rsess_string_free(value);
}

int main(void) {
    rsess_error *err = NULL;
    rsess_scope *scope = NULL;
    rsess_cim_session *session = NULL;
    rsess_result r;

    printf("remote_sessions %s\n", rsess_version());
    if ((r = rsess_scope_new(&scope)) != RSESS_RESULT_OK) return fail("rsess_scope_new", r, NULL);
    if ((r = rsess_cim_session_new(scope, NULL, "example", NULL, NULL, 0, &session, &err)) != RSESS_RESULT_OK)
        return fail("rsess_cim_session_new", r, err);

    /* Find it again by name, as Get-CimSession -Name exa* does. */
    const char *patterns[] = {"exa*"};
    rsess_cim_session_list *list = NULL;
    if ((r = rsess_cim_session_find(scope, RSESS_LOOKUP_NAME, patterns, 1, &list, &err)) != RSESS_RESULT_OK)
        return fail("rsess_cim_session_find", r, err);
    size_t found = 0;
    rsess_cim_session_list_len(list, &found);
    rsess_cim_session *again = NULL;
    rsess_cim_session_list_get(list, 0, &again);
    uint32_t id = 0;
    char *name = NULL, *computer = NULL, *instance_id = NULL;
    rsess_cim_session_id(again, &id);
    rsess_cim_session_name(again, &name);
    rsess_cim_session_computer_name(again, &computer);
    rsess_cim_session_instance_id(again, &instance_id);
    printf("found %zu session(s): Id %u, Name %s, ComputerName %s, InstanceId %s\n", found, id, name, computer, instance_id);
    rsess_string_free(name);
    rsess_string_free(computer);
    rsess_string_free(instance_id);
    rsess_cim_session_free(again);
    rsess_cim_session_list_free(list);

    /* Every property of Win32_OperatingSystem with its CIM type. */
    rsess_instance_iter *it = NULL;
    if ((r = rsess_cim_enumerate(session, "root/cimv2", "Win32_OperatingSystem", 0, NULL, &it, &err)) != RSESS_RESULT_OK)
        return fail("rsess_cim_enumerate", r, err);
    rsess_instance *inst = NULL;
    while (rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL) {
        char *cls = NULL;
        size_t count = 0;
        rsess_instance_class_name(inst, &cls);
        rsess_instance_property_count(inst, &count);
        printf("%s (%zu properties):\n", cls, count);
        for (size_t p = 0; p < count; p++) print_property(inst, p);
        rsess_string_free(cls);
        rsess_instance_free(inst);
    }
    rsess_instance_iter_free(it);

    /* A WQL query for this very process. */
    char query[128];
    snprintf(query, sizeof query, "SELECT Name, ProcessId, ParentProcessId FROM Win32_Process WHERE ProcessId = %ld", (long)getpid());
    if ((r = rsess_cim_query(session, NULL, "WQL", query, 0, NULL, &it, &err)) != RSESS_RESULT_OK)
        return fail("rsess_cim_query", r, err);
    printf("%s:\n", query);
    while (rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL) {
        size_t count = 0;
        rsess_instance_property_count(inst, &count);
        for (size_t p = 0; p < count; p++) {
            uint32_t flags = 0;
            rsess_instance_property_flags(inst, p, &flags);
            if (!(flags & RSESS_PROPERTY_NULL)) print_property(inst, p);
        }
        rsess_instance_free(inst);
    }
    rsess_instance_iter_free(it);

    if ((r = rsess_cim_session_remove(scope, session, &err)) != RSESS_RESULT_OK)
        return fail("rsess_cim_session_remove", r, err);
    rsess_cim_session_free(session);
    rsess_scope_free(scope);
    printf("session removed\n");
    return 0;
}
