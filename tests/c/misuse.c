/* C tests of the ABI's promises: NULL arguments, stale, double-freed and wrong-kind handles, removed
 * sessions and bad requests each give a result code, never undefined behaviour (run under valgrind). */
#include <stdio.h>
#include <string.h>

#include "remote_sessions.h"
#include "check.h"


static rsess_cim_session *new_session(rsess_scope *scope) {
    rsess_cim_session *s = NULL;
    rsess_cim_session_new(scope, NULL, NULL, NULL, NULL, 0, &s, NULL);
    return s;
}

static void null_arguments(void) {
    rsess_cim_session *s = NULL;
    CHECK(rsess_scope_new(NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_cim_session_new(NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_cim_session_name(NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    char *name = NULL;
    CHECK(rsess_cim_session_name(NULL, &name) == RSESS_RESULT_NULL_ARGUMENT && name == NULL);
    s = new_session(NULL); /* NULL scope = the default scope */
    CHECK(s != NULL);
    rsess_instance_iter *it = NULL;
    CHECK(rsess_cim_enumerate(s, NULL, NULL, 0, NULL, &it, NULL) == RSESS_RESULT_NULL_ARGUMENT && it == NULL);
    CHECK(rsess_cim_query(s, NULL, NULL, NULL, 0, NULL, &it, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_cim_session_list *list = NULL;
    CHECK(rsess_cim_session_find(NULL, RSESS_LOOKUP_NAME, NULL, 1, &list, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_error_code(NULL) == RSESS_RESULT_NULL_ARGUMENT);
    /* Every free accepts NULL. */
    rsess_scope_free(NULL);
    rsess_session_options_free(NULL);
    rsess_cim_session_free(NULL);
    rsess_cim_session_list_free(NULL);
    rsess_string_list_free(NULL);
    rsess_instance_iter_free(NULL);
    rsess_instance_free(NULL);
    rsess_error_free(NULL);
    rsess_string_free(NULL);
    CHECK(rsess_cim_session_remove(NULL, s, NULL) == RSESS_RESULT_OK);
    rsess_cim_session_free(s);
}

static void stale_double_freed_and_wrong_kind_handles(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_cim_session *s = new_session(scope);
    rsess_instance_iter *it = NULL;
    CHECK(rsess_cim_enumerate(s, NULL, "Win32_OperatingSystem", 0, NULL, &it, NULL) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL);

    /* Wrong kind: a session handle where an instance is expected, and the reverse. */
    size_t n = 0;
    CHECK(rsess_instance_property_count((const rsess_instance *)s, &n) == RSESS_RESULT_INVALID_HANDLE);
    uint32_t id = 0;
    CHECK(rsess_cim_session_id((const rsess_cim_session *)inst, &id) == RSESS_RESULT_INVALID_HANDLE);
    rsess_instance_free((rsess_instance *)s); /* frees nothing: wrong kind */
    CHECK(rsess_cim_session_id(s, &id) == RSESS_RESULT_OK && id == 1);

    /* Freed and double-freed. */
    rsess_instance_free(inst);
    CHECK(rsess_instance_property_count(inst, &n) == RSESS_RESULT_INVALID_HANDLE);
    rsess_instance_free(inst);
    rsess_instance_iter_free(it);
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_INVALID_HANDLE);
    rsess_instance_iter_free(it);
    rsess_cim_session_free(s);
    CHECK(rsess_cim_session_id(s, &id) == RSESS_RESULT_INVALID_HANDLE);
    rsess_cim_session_free(s);

    /* A made-up handle. */
    CHECK(rsess_cim_session_id((const rsess_cim_session *)(uintptr_t)0x1234, &id) == RSESS_RESULT_INVALID_HANDLE);

    /* A freed scope removes its sessions and is itself stale. */
    rsess_cim_session *t = new_session(scope);
    rsess_scope_free(scope);
    bool removed = false;
    CHECK(rsess_cim_session_is_removed(t, &removed) == RSESS_RESULT_OK && removed);
    CHECK(rsess_cim_session_new(scope, NULL, NULL, NULL, NULL, 0, &s, NULL) == RSESS_RESULT_INVALID_HANDLE);
    rsess_scope_free(scope);
    rsess_cim_session_free(t);

    rsess_error *err = NULL;
    rsess_cim_session_new((rsess_scope *)(uintptr_t)0x99, NULL, NULL, NULL, NULL, 0, &s, &err);
    CHECK(rsess_error_code(err) == RSESS_RESULT_INVALID_HANDLE);
    rsess_error_free(err);
    CHECK(rsess_error_code(err) == RSESS_RESULT_INVALID_HANDLE);
    rsess_error_free(err);
}

static void removed_sessions(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_cim_session *s = new_session(scope);
    rsess_error *err = NULL;
    CHECK(rsess_cim_session_remove(scope, s, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_cim_session_remove(scope, s, &err) == RSESS_RESULT_NOT_FOUND);
    char *msg = NULL;
    CHECK(rsess_error_message(err, &msg) == RSESS_RESULT_OK && strstr(msg, "Could not find CimSession") != NULL);
    rsess_string_free(msg);
    rsess_error_free(err);
    rsess_instance_iter *it = NULL;
    CHECK(rsess_cim_enumerate(s, NULL, "Win32_Process", 0, NULL, &it, NULL) == RSESS_RESULT_SESSION_REMOVED && it == NULL);
    uint32_t id = 0;
    CHECK(rsess_cim_session_id(s, &id) == RSESS_RESULT_OK && id == 1);
    /* A removed session's id finds nothing and the next session gets a new Id. */
    const char *ids[] = {"1"};
    rsess_cim_session_list *list = NULL;
    CHECK(rsess_cim_session_find(scope, RSESS_LOOKUP_ID, ids, 1, &list, NULL) == RSESS_RESULT_OK);
    size_t n = 99;
    CHECK(rsess_cim_session_list_len(list, &n) == RSESS_RESULT_OK && n == 0);
    rsess_string_list *missing = NULL;
    CHECK(rsess_cim_session_list_missing(list, &missing) == RSESS_RESULT_OK);
    CHECK(rsess_string_list_len(missing, &n) == RSESS_RESULT_OK && n == 1);
    char *value = NULL;
    CHECK(rsess_string_list_get(missing, 1, &value) == RSESS_RESULT_INVALID_ARGUMENT && value == NULL);
    rsess_string_list_free(missing);
    rsess_cim_session *other = NULL;
    CHECK(rsess_cim_session_list_get(list, 0, &other) == RSESS_RESULT_INVALID_ARGUMENT && other == NULL);
    rsess_cim_session_list_free(list);
    rsess_cim_session *next = new_session(scope);
    CHECK(rsess_cim_session_id(next, &id) == RSESS_RESULT_OK && id == 2);
    /* A session of another scope cannot be removed through this one. */
    rsess_scope *elsewhere = NULL;
    rsess_scope_new(&elsewhere);
    CHECK(rsess_cim_session_remove(elsewhere, next, NULL) == RSESS_RESULT_NOT_FOUND);
    rsess_scope_free(elsewhere);
    rsess_cim_session_free(next);
    rsess_cim_session_free(s);
    rsess_scope_free(scope);
}

static void bad_requests(void) {
    rsess_cim_session *s = new_session(NULL);
    rsess_instance_iter *it = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_cim_enumerate(s, NULL, "No_Such_Class", 0, NULL, &it, NULL) == RSESS_RESULT_INVALID_CLASS);
    CHECK(rsess_cim_enumerate(s, "root/nowhere", "Win32_Process", 0, NULL, &it, NULL) == RSESS_RESULT_INVALID_NAMESPACE);
    CHECK(rsess_cim_enumerate(s, NULL, "Win32_Process", 0x80, NULL, &it, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_cim_query(s, NULL, NULL, "SELECT * FROM", 0, NULL, &it, &err) == RSESS_RESULT_INVALID_QUERY);
    char *msg = NULL;
    CHECK(rsess_error_message(err, &msg) == RSESS_RESULT_OK && strstr(msg, "Invalid query") != NULL);
    rsess_string_free(msg);
    rsess_error_free(err);
    CHECK(rsess_cim_query(s, NULL, "CQL", "SELECT * FROM Win32_Process", 0, NULL, &it, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(it == NULL);

    rsess_session_options *dcom = NULL;
    CHECK(rsess_session_options_new(RSESS_PROTOCOL_DCOM, &dcom) == RSESS_RESULT_OK);
    CHECK(rsess_session_options_set_flag(dcom, RSESS_OPTION_USE_SSL, true) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_session_options_new(7, &dcom) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_cim_session *remote = NULL;
    CHECK(rsess_cim_session_new(NULL, "otherhost", NULL, dcom, NULL, 0, &remote, NULL) == RSESS_RESULT_NOT_SUPPORTED && remote == NULL);
    CHECK(rsess_cim_session_new(NULL, "", NULL, NULL, NULL, 0, &remote, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_session_options_free(dcom);
    rsess_session_options_free(dcom);

    const char bad_utf8[] = {'\xff', '\xfe', 0};
    CHECK(rsess_cim_enumerate(s, NULL, bad_utf8, 0, NULL, &it, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_cim_session_list *list = NULL;
    CHECK(rsess_cim_session_find(NULL, 42, NULL, 0, &list, NULL) == RSESS_RESULT_INVALID_ARGUMENT);

    /* Index out of range and arrays read as scalars. */
    CHECK(rsess_cim_enumerate(s, NULL, "Win32_OperatingSystem", 0, NULL, &it, NULL) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    rsess_instance_iter_next(it, &inst, NULL);
    size_t count = 0;
    rsess_instance_property_count(inst, &count);
    char *name = NULL;
    CHECK(rsess_instance_property_name(inst, count, &name) == RSESS_RESULT_INVALID_ARGUMENT && name == NULL);
    size_t len = 0;
    CHECK(rsess_instance_property_array_len(inst, 0, &len) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_instance_superclass(inst, 99, &name) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_instance_free(inst);
    /* The end of the iteration is a NULL instance, again and again. */
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst == NULL);
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst == NULL);
    rsess_instance_iter_free(it);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

static void pssessions(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_pssession *s = NULL;
    CHECK(rsess_pssession_register(scope, NULL, 3, "not-a-guid", "web", "host", "SSH", &s, NULL) == RSESS_RESULT_INVALID_ARGUMENT && s == NULL);
    CHECK(rsess_pssession_register(scope, NULL, 3, "0f8fad5b-d9cb-469f-a165-70867728950e", NULL, "host", "SSH", &s, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_pssession_register(scope, NULL, 3, "0f8fad5b-d9cb-469f-a165-70867728950e", "web", "host", "SSH", &s, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_set_state(s, 42) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_pssession_set_state(s, 5) == RSESS_RESULT_OK);
    rsess_session_state state = 0;
    CHECK(rsess_pssession_state(s, &state) == RSESS_RESULT_OK && state == 5);
    const char *names[] = {"w?b"};
    rsess_pssession_list *list = NULL;
    CHECK(rsess_pssession_find(scope, RSESS_LOOKUP_NAME, names, 1, &list, NULL) == RSESS_RESULT_OK);
    size_t n = 0;
    CHECK(rsess_pssession_list_len(list, &n) == RSESS_RESULT_OK && n == 1);
    rsess_pssession *again = NULL;
    CHECK(rsess_pssession_list_get(list, 1, &again) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_pssession_list_free(list);
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_OK);
    CHECK(rsess_pssession_remove(scope, s, NULL) == RSESS_RESULT_NOT_FOUND);
    CHECK(rsess_pssession_state(s, &state) == RSESS_RESULT_OK && state == 3);
    rsess_pssession_free(s);
    CHECK(rsess_pssession_state(s, &state) == RSESS_RESULT_INVALID_HANDLE);
    rsess_pssession_free(s);
    rsess_scope_free(scope);
}

/* Credentials, parameter lists, cancel tokens and the write operations: bad values are refused, the
 * local provider declares only Win32_Process's methods and is read-only, WS-Management needs a usable target. */
static void operations_and_their_arguments(void) {
    rsess_cim_session *s = new_session(NULL);
    rsess_credential *cred = NULL;
    rsess_params *params = NULL;
    rsess_cancel *cancel = NULL;
    rsess_instance *out = NULL;
    rsess_error *err = NULL;
    CHECK(rsess_credential_new(99, NULL, NULL, &cred) == RSESS_RESULT_INVALID_ARGUMENT && cred == NULL);
    CHECK(rsess_credential_new(RSESS_AUTH_BASIC, "me", NULL, &cred) == RSESS_RESULT_INVALID_ARGUMENT && cred == NULL);
    CHECK(rsess_credential_new(RSESS_AUTH_BASIC, "me", "secret-pw", &cred) == RSESS_RESULT_OK && cred != NULL);

    /* Basic over plain HTTP is refused before anything goes on the wire; the password is not in the text. */
    rsess_cim_session *remote = NULL;
    CHECK(rsess_cim_session_new(NULL, "127.0.0.1", NULL, NULL, cred, RSESS_SESSION_SKIP_TEST_CONNECTION, &remote, &err) == RSESS_RESULT_INVALID_ARGUMENT && remote == NULL);
    char *message = NULL;
    CHECK(rsess_error_message(err, &message) == RSESS_RESULT_OK && strstr(message, "NoEncryption") && !strstr(message, "secret-pw"));
    rsess_string_free(message);
    rsess_error_free(err);
    err = NULL;
    CHECK(rsess_cim_session_new(NULL, "127.0.0.1", NULL, NULL, NULL, 0x40, &remote, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_credential *digest = NULL;
    rsess_credential_new(RSESS_AUTH_DIGEST, "me", "pw", &digest);
    CHECK(rsess_cim_session_new(NULL, "srv", NULL, NULL, digest, RSESS_SESSION_SKIP_TEST_CONNECTION, &remote, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    rsess_credential_free(digest);
    /* CredSSP needs a user and password: it delegates them to the server. */
    rsess_credential *credssp = NULL;
    rsess_credential_new(RSESS_AUTH_CREDSSP, NULL, NULL, &credssp);
    CHECK(rsess_cim_session_new(NULL, "srv", NULL, NULL, credssp, RSESS_SESSION_SKIP_TEST_CONNECTION, &remote, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    rsess_credential_free(credssp);

    CHECK(rsess_params_new(&params) == RSESS_RESULT_OK);
    const char *one[] = {"42"};
    const char *two[] = {"1", "2"};
    const char *bad[] = {"forty"};
    CHECK(rsess_params_add(params, "n", RSESS_CIM_TYPE_UINT32, one, 1) == RSESS_RESULT_OK);
    CHECK(rsess_params_add(params, "list", RSESS_CIM_TYPE_SINT64_ARRAY, two, 2) == RSESS_RESULT_OK);
    CHECK(rsess_params_add(params, "none", RSESS_CIM_TYPE_STRING, NULL, 0) == RSESS_RESULT_OK);
    CHECK(rsess_params_add(params, "n", RSESS_CIM_TYPE_UINT32, bad, 1) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_params_add(params, "n", RSESS_CIM_TYPE_UINT32, two, 2) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_params_add(params, "n", 77, one, 1) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_params_add(params, "i", RSESS_CIM_TYPE_INSTANCE, one, 1) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_params_add(params, NULL, RSESS_CIM_TYPE_UINT32, one, 1) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_params_add((rsess_params *)cred, "n", RSESS_CIM_TYPE_UINT32, one, 1) == RSESS_RESULT_INVALID_HANDLE);

    CHECK(rsess_cancel_new(&cancel) == RSESS_RESULT_OK);
    CHECK(rsess_cancel_cancel(cancel) == RSESS_RESULT_OK);
    CHECK(rsess_cancel_cancel(NULL) == RSESS_RESULT_OK);

    /* The local provider: Win32_OperatingSystem declares no methods; read-only, but Get by key works. */
    CHECK(rsess_cim_invoke(s, NULL, "Win32_OperatingSystem", NULL, NULL, 0, "Reboot", params, cancel, &out, NULL) == RSESS_RESULT_METHOD_NOT_FOUND && out == NULL);
    CHECK(rsess_cim_invoke(s, "root/nowhere", "Win32_OperatingSystem", NULL, NULL, 0, "Reboot", NULL, NULL, &out, NULL) == RSESS_RESULT_INVALID_NAMESPACE);
    CHECK(rsess_cim_create_instance(s, NULL, "Win32_Process", params, NULL, &out, NULL) == RSESS_RESULT_NOT_SUPPORTED && out == NULL);
    const char *key_names[] = {"Handle"};
    const char *self_pid[] = {"1"};
    CHECK(rsess_cim_modify_instance(s, NULL, "Win32_Process", key_names, self_pid, 1, params, NULL, &out, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(rsess_cim_delete_instance(s, NULL, "Win32_Process", key_names, self_pid, 1, NULL, NULL) == RSESS_RESULT_NOT_SUPPORTED);
    CHECK(rsess_cim_delete_instance(s, NULL, "Win32_Process", NULL, NULL, 1, NULL, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    const char *no_pid[] = {"0"};
    CHECK(rsess_cim_get_instance(s, NULL, "Win32_Process", key_names, no_pid, 1, NULL, &out, NULL) == RSESS_RESULT_NOT_FOUND && out == NULL);
    CHECK(rsess_cim_get_instance(s, NULL, "Win32_Process", key_names, self_pid, 1, NULL, &out, NULL) == RSESS_RESULT_OK && out != NULL);
    rsess_instance_free(out);

    rsess_params_free(params);
    rsess_params_free(params);
    rsess_cancel_free(cancel);
    rsess_credential_free(cred);
    rsess_cim_session_free(s);
}

/* The one-call view of an instance says what the per-property calls say, and stays put. */
static void instance_views(void) {
    rsess_cim_session *s = new_session(NULL);
    rsess_instance_iter *it = NULL;
    CHECK(rsess_cim_enumerate(s, NULL, "Win32_OperatingSystem", 0, NULL, &it, NULL) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst != NULL);
    const rsess_instance_view *v = NULL, *again = NULL;
    CHECK(rsess_instance_get_view(inst, &v) == RSESS_RESULT_OK && v != NULL);
    CHECK(rsess_instance_get_view(inst, &again) == RSESS_RESULT_OK && again == v);
    CHECK(strcmp(v->class_name, "Win32_OperatingSystem") == 0 && strcmp(v->namespace_name, "root/cimv2") == 0);
    CHECK(v->superclass_count == 3 && strcmp(v->superclasses[0], "CIM_OperatingSystem") == 0);
    size_t count = 0;
    CHECK(rsess_instance_property_count(inst, &count) == RSESS_RESULT_OK && count == v->property_count);
    for (size_t p = 0; p < v->property_count; p++) {
        const rsess_property_view *pv = &v->properties[p];
        char *name = NULL, *value = NULL;
        uint32_t flags = 0;
        rsess_instance_property_name(inst, p, &name);
        rsess_instance_property_flags(inst, p, &flags);
        CHECK(name != NULL && strcmp(name, pv->name) == 0 && flags == pv->flags);
        if (pv->element_count == 0 && pv->cim_type < RSESS_CIM_TYPE_BOOLEAN_ARRAY) {
            rsess_instance_property_value(inst, p, &value);
            CHECK((value == NULL && pv->value == NULL) || (value != NULL && pv->value != NULL && strcmp(value, pv->value) == 0));
        }
        rsess_string_free(name);
        rsess_string_free(value);
    }
    CHECK(rsess_instance_get_view((const rsess_instance *)s, &v) == RSESS_RESULT_INVALID_HANDLE);
    CHECK(rsess_instance_get_view(inst, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    rsess_instance_free(inst);
    CHECK(rsess_instance_get_view(inst, &v) == RSESS_RESULT_INVALID_HANDLE);
    rsess_instance_iter_free(it);
    rsess_cim_session_remove(NULL, s, NULL);
    rsess_cim_session_free(s);
}

/* Local class declarations and associations: the provider's declarations, no associations, and the
 * class handles' own misuse (wrong kind, freed, out of range). */
static void local_classes_and_associations(void) {
    rsess_scope *scope = NULL;
    rsess_scope_new(&scope);
    rsess_cim_session *s = new_session(scope);
    rsess_class *c = NULL;
    CHECK(rsess_cim_get_class(s, NULL, "win32_process", NULL, &c, NULL) == RSESS_RESULT_OK && c != NULL);
    char *name = NULL, *super = NULL;
    CHECK(rsess_class_name(c, &name) == RSESS_RESULT_OK && strcmp(name, "Win32_Process") == 0);
    CHECK(rsess_class_superclass(c, &super) == RSESS_RESULT_OK && super != NULL && strcmp(super, "CIM_Process") == 0);
    rsess_string_free(name);
    rsess_string_free(super);
    size_t count = 0, keys = 0;
    CHECK(rsess_class_property_count(c, &count) == RSESS_RESULT_OK && count > 5);
    for (size_t p = 0; p < count; p++) {
        uint32_t q = 0;
        CHECK(rsess_class_property(c, p, NULL, NULL, &q, NULL) == RSESS_RESULT_OK && (q & RSESS_QUALIFIER_READ));
        if (q & RSESS_QUALIFIER_KEY) keys++;
    }
    CHECK(keys >= 1);
    /* Win32_Process declares Terminate(Reason) and GetOwner(User, Domain); indexes past them are refused. */
    size_t methods = 0, parameters = 0;
    char *method = NULL, *parameter = NULL;
    uint32_t way = 0;
    CHECK(rsess_class_method_count(c, &methods) == RSESS_RESULT_OK && methods == 2);
    CHECK(rsess_class_method(c, 0, &method, NULL, NULL, &parameters) == RSESS_RESULT_OK && strcmp(method, "Terminate") == 0 && parameters == 1);
    CHECK(rsess_class_parameter(c, 0, 0, &parameter, NULL, &way, NULL) == RSESS_RESULT_OK && strcmp(parameter, "Reason") == 0 && (way & RSESS_QUALIFIER_IN));
    rsess_string_free(method);
    rsess_string_free(parameter);
    CHECK(rsess_class_method(c, 2, NULL, NULL, NULL, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_class_parameter(c, 0, 1, NULL, NULL, NULL, NULL) == RSESS_RESULT_INVALID_ARGUMENT);
    CHECK(rsess_instance_property_count((const rsess_instance *)c, &count) == RSESS_RESULT_INVALID_HANDLE);
    rsess_class_free(c);
    CHECK(rsess_class_property_count(c, &count) == RSESS_RESULT_INVALID_HANDLE);
    rsess_class_free(c);

    rsess_error *err = NULL;
    CHECK(rsess_cim_get_class(s, NULL, "Win32_Nothing", NULL, &c, &err) == RSESS_RESULT_INVALID_CLASS && err != NULL);
    rsess_error_free(err);
    rsess_class_list *list = NULL;
    CHECK(rsess_cim_classes(s, "root/cimv2", NULL, &list, NULL) == RSESS_RESULT_OK && list != NULL);
    size_t n = 0;
    CHECK(rsess_class_list_len(list, &n) == RSESS_RESULT_OK && n > 7);
    CHECK(rsess_class_list_get(list, 0, &c) == RSESS_RESULT_OK && c != NULL);
    rsess_class_list_free(list);
    CHECK(rsess_class_name(c, &name) == RSESS_RESULT_OK && name != NULL); /* outlives the list */
    rsess_string_free(name);
    rsess_class_free(c);

    /* The provider serves no associations: a valid request gives nothing, a bad class an error. */
    const char *key_names[] = {"Handle"}, *key_values[] = {"1"};
    rsess_instance_iter *it = NULL;
    const rsess_instance_name process = {"Win32_Process", key_names, key_values, 1};
    CHECK(rsess_cim_associators(s, NULL, &process, NULL, 0, NULL, &it, NULL) == RSESS_RESULT_OK);
    rsess_instance *inst = NULL;
    CHECK(rsess_instance_iter_next(it, &inst, NULL) == RSESS_RESULT_OK && inst == NULL);
    rsess_instance_iter_free(it);
    it = NULL;
    const rsess_association_filter nothing = {NULL, NULL, "Win32_Nothing", NULL};
    CHECK(rsess_cim_references(s, NULL, &process, &nothing, 0, NULL, &it, NULL) == RSESS_RESULT_INVALID_CLASS && it == NULL);
    const rsess_association_filter through = {"Win32_Link", NULL, NULL, NULL};
    CHECK(rsess_cim_references(s, NULL, &process, &through, 0, NULL, &it, NULL) == RSESS_RESULT_INVALID_ARGUMENT && it == NULL);
    CHECK(rsess_cim_associators(NULL, NULL, &process, NULL, 0, NULL, &it, NULL) == RSESS_RESULT_NULL_ARGUMENT);
    CHECK(rsess_cim_associators(s, NULL, NULL, NULL, 0, NULL, &it, NULL) == RSESS_RESULT_NULL_ARGUMENT && it == NULL);
    const rsess_instance_name unnamed = {NULL, NULL, NULL, 0};
    CHECK(rsess_cim_associators(s, NULL, &unnamed, NULL, 0, NULL, &it, NULL) == RSESS_RESULT_NULL_ARGUMENT && it == NULL);
    rsess_cim_session_remove(scope, s, NULL);
    rsess_cim_session_free(s);
    rsess_scope_free(scope);
}

int main(void) {
    null_arguments();
    stale_double_freed_and_wrong_kind_handles();
    removed_sessions();
    operations_and_their_arguments();
    bad_requests();
    local_classes_and_associations();
    instance_views();
    pssessions();
    printf("c-tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
