/* libpsrpomiprov.so for tests/wsman-endpoint: the five callbacks PowerShell's WS-Man plugin code
   (System.Management.Automation's WSManNativeApi) imports from "libpsrpomiprov". Each forwards to a
   function of the endpoint, whose pointers rsess_shim_init stores. Strings are UTF-16 (char16_t*). */
#include <stdint.h>
#include <stddef.h>

typedef int32_t (*params_fn)(void *request, int32_t flags, void *data);
typedef int32_t (*complete_fn)(void *request, int32_t flags, int32_t error, const uint16_t *info);
typedef int32_t (*result_fn)(void *request, int32_t flags, const uint16_t *stream, void *data, const uint16_t *state, int32_t exit_code);
typedef int32_t (*context_fn)(void *request, int32_t flags, void *context);
typedef int32_t (*shutdown_fn)(void *request, void *callback, void *context);

static params_fn on_params;
static complete_fn on_complete;
static result_fn on_result;
static context_fn on_context;
static shutdown_fn on_shutdown;

void rsess_shim_init(params_fn p, complete_fn c, result_fn r, context_fn x, shutdown_fn s)
{
    on_params = p; on_complete = c; on_result = r; on_context = x; on_shutdown = s;
}

int32_t WSManPluginGetOperationParameters(void *request, int32_t flags, void *data) { return on_params ? on_params(request, flags, data) : 1; }
int32_t WSManPluginOperationComplete(void *request, int32_t flags, int32_t error, const uint16_t *info) { return on_complete ? on_complete(request, flags, error, info) : 1; }
int32_t WSManPluginReceiveResult(void *request, int32_t flags, const uint16_t *stream, void *data, const uint16_t *state, int32_t exit_code) { return on_result ? on_result(request, flags, stream, data, state, exit_code) : 1; }
int32_t WSManPluginReportContext(void *request, int32_t flags, void *context) { return on_context ? on_context(request, flags, context) : 1; }
int32_t WSManPluginRegisterShutdownCallback(void *request, void *callback, void *context) { return on_shutdown ? on_shutdown(request, callback, context) : 1; }
