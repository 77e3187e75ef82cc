using System.Runtime.InteropServices;

namespace RemoteSessions.Native;

/// <summary>
/// LibraryImport declarations of the C ABI in bindings/c/remote_sessions.h, one to one. Handles are
/// passed as SafeHandles so a concurrent Dispose cannot free them mid-call; owned strings come back as
/// <see cref="IntPtr"/> and are copied and freed by <see cref="Native.TakeString"/>. An optional handle
/// is passed as an empty SafeHandle (value 0, which the C side reads as NULL), never as null.
/// </summary>
internal static partial class NativeMethods
{
    internal const string Library = "remote_sessions";

    [LibraryImport(Library)] internal static partial IntPtr rsess_version();
    [LibraryImport(Library)] internal static partial void rsess_string_free(IntPtr s);

    [LibraryImport(Library)] internal static partial void rsess_error_free(IntPtr e);
    [LibraryImport(Library)] internal static partial ResultCode rsess_error_code(IntPtr e);
    [LibraryImport(Library)] internal static partial ResultCode rsess_error_message(IntPtr e, out IntPtr message);
    [LibraryImport(Library)] internal static partial ResultCode rsess_error_cim_status(IntPtr e, out uint status);
    [LibraryImport(Library)] internal static partial ResultCode rsess_error_fault_code(IntPtr e, out IntPtr code);
    [LibraryImport(Library)] internal static partial ResultCode rsess_error_http_status(IntPtr e, out ushort status);

    [LibraryImport(Library)] internal static partial ResultCode rsess_string_list_len(StringListHandle l, out nuint len);
    [LibraryImport(Library)] internal static partial ResultCode rsess_string_list_get(StringListHandle l, nuint i, out IntPtr s);
    [LibraryImport(Library)] internal static partial void rsess_string_list_free(IntPtr l);

    [LibraryImport(Library)] internal static partial ResultCode rsess_scope_new(out ScopeHandle scope);
    [LibraryImport(Library)] internal static partial void rsess_scope_free(IntPtr scope);

    [LibraryImport(Library)] internal static partial ResultCode rsess_session_options_new(ProtocolKind protocol, out SessionOptionsHandle options);
    [LibraryImport(Library)] internal static partial ResultCode rsess_session_options_set_flag(SessionOptionsHandle o, OptionFlag flag, [MarshalAs(UnmanagedType.U1)] bool on);
    [LibraryImport(Library)] internal static partial ResultCode rsess_session_options_set_max_envelope_size_kb(SessionOptionsHandle o, uint kb);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial ResultCode rsess_session_options_set_culture(SessionOptionsHandle o, string culture);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial ResultCode rsess_session_options_set_ui_culture(SessionOptionsHandle o, string culture);
    [LibraryImport(Library)] internal static partial ResultCode rsess_session_options_set_timeout_ms(SessionOptionsHandle o, uint ms);
    [LibraryImport(Library)] internal static partial ResultCode rsess_session_options_set_port(SessionOptionsHandle o, uint port);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial ResultCode rsess_session_options_set_http_prefix(SessionOptionsHandle o, string prefix);
    [LibraryImport(Library)] internal static partial void rsess_session_options_free(IntPtr o);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_credential_new(CimAuthenticationMechanism mechanism, string? user, string? password, out CredentialHandle credential);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_credential_new_certificate_file(string path, string? password, out CredentialHandle credential, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_credential_new_certificate_thumbprint(string thumbprint, string? storeFolder, out CredentialHandle credential, out IntPtr error);
    [LibraryImport(Library)] internal static partial void rsess_credential_free(IntPtr c);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cancel_new(out CancelHandle cancel);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cancel_cancel(CancelHandle cancel);
    [LibraryImport(Library)] internal static partial void rsess_cancel_free(IntPtr c);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_session_new(ScopeHandle scope, string? computerName, string? name, SessionOptionsHandle options, CredentialHandle credential, uint flags, out CimSessionHandle session, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_id(CimSessionHandle s, out uint id);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_name(CimSessionHandle s, out IntPtr name);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_instance_id(CimSessionHandle s, out IntPtr id);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_computer_name(CimSessionHandle s, out IntPtr name);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_protocol(CimSessionHandle s, out IntPtr protocol);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_is_removed(CimSessionHandle s, [MarshalAs(UnmanagedType.U1)] out bool removed);
    [LibraryImport(Library)] internal static partial void rsess_cim_session_free(IntPtr s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_remove(ScopeHandle scope, CimSessionHandle s, out IntPtr error);
    [LibraryImport(Library)]
    internal static partial ResultCode rsess_cim_session_find(ScopeHandle scope, Lookup kind, IntPtr[] values, nuint count, out CimSessionListHandle list, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_list_len(CimSessionListHandle l, out nuint len);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_list_get(CimSessionListHandle l, nuint i, out CimSessionHandle s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_cim_session_list_missing(CimSessionListHandle l, out StringListHandle missing);
    [LibraryImport(Library)] internal static partial void rsess_cim_session_list_free(IntPtr l);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_enumerate(CimSessionHandle s, string? ns, string className, OperationFlags flags, CancelHandle cancel, out InstanceIterHandle iter, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_query(CimSessionHandle s, string? ns, string? dialect, string query, OperationFlags flags, CancelHandle cancel, out InstanceIterHandle iter, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_get_instance(CimSessionHandle s, string? ns, string className, IntPtr[] keyNames, IntPtr[] keyValues, nuint count, CancelHandle cancel, out InstanceHandle instance, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_associators(CimSessionHandle s, string? ns, in InstanceName source, in AssociationFilter filter,
        OperationFlags flags, CancelHandle cancel, out InstanceIterHandle iter, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_references(CimSessionHandle s, string? ns, in InstanceName source, in AssociationFilter filter,
        OperationFlags flags, CancelHandle cancel, out InstanceIterHandle iter, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_get_class(CimSessionHandle s, string? ns, string className, CancelHandle cancel, out ClassHandle c, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_classes(CimSessionHandle s, string? ns, CancelHandle cancel, out ClassListHandle list, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_list_len(ClassListHandle l, out nuint len);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_list_get(ClassListHandle l, nuint index, out ClassHandle c);
    [LibraryImport(Library)] internal static partial void rsess_class_list_free(IntPtr l);
    [LibraryImport(Library)] internal static partial void rsess_class_free(IntPtr c);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_name(ClassHandle c, out IntPtr name);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_superclass(ClassHandle c, out IntPtr name);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_namespace(ClassHandle c, out IntPtr ns);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_server_name(ClassHandle c, out IntPtr server);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_qualifiers(ClassHandle c, out CimQualifiers qualifiers);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_property_count(ClassHandle c, out nuint count);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_property(ClassHandle c, nuint p, out IntPtr name, out CimType type, out CimQualifiers qualifiers, out IntPtr referenceClass);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_method_count(ClassHandle c, out nuint count);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_method(ClassHandle c, nuint m, out IntPtr name, out CimType returnType, out CimQualifiers qualifiers, out nuint parameterCount);
    [LibraryImport(Library)] internal static partial ResultCode rsess_class_parameter(ClassHandle c, nuint m, nuint p, out IntPtr name, out CimType type, out CimQualifiers qualifiers, out IntPtr referenceClass);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_get_view(IntPtr i, out IntPtr view);
    [LibraryImport(Library)] internal static partial ResultCode rsess_params_new(out ParamsHandle p);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_params_add(ParamsHandle p, string name, CimType type, IntPtr[] values, nuint count);
    [LibraryImport(Library)] internal static partial void rsess_params_free(IntPtr p);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_invoke(CimSessionHandle s, string? ns, string className, IntPtr[] keyNames, IntPtr[] keyValues, nuint keyCount, string method, ParamsHandle parameters, CancelHandle cancel, out InstanceHandle output, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_create_instance(CimSessionHandle s, string? ns, string className, ParamsHandle properties, CancelHandle cancel, out InstanceHandle created, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_modify_instance(CimSessionHandle s, string? ns, string className, IntPtr[] keyNames, IntPtr[] keyValues, nuint keyCount, ParamsHandle properties, CancelHandle cancel, out InstanceHandle changed, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_delete_instance(CimSessionHandle s, string? ns, string className, IntPtr[] keyNames, IntPtr[] keyValues, nuint keyCount, CancelHandle cancel, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_cim_class_names(CimSessionHandle s, string? ns, out StringListHandle names, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_iter_next(InstanceIterHandle it, out IntPtr instance, out IntPtr error);
    [LibraryImport(Library)] internal static partial void rsess_instance_iter_free(IntPtr it);

    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_class_name(InstanceHandle i, out IntPtr s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_namespace(InstanceHandle i, out IntPtr s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_server_name(InstanceHandle i, out IntPtr s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_superclass_count(InstanceHandle i, out nuint n);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_superclass(InstanceHandle i, nuint k, out IntPtr s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_property_count(InstanceHandle i, out nuint n);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_property_name(InstanceHandle i, nuint p, out IntPtr s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_property_type(InstanceHandle i, nuint p, out CimType t);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_property_flags(InstanceHandle i, nuint p, out uint flags);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_property_value(InstanceHandle i, nuint p, out IntPtr s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_property_array_len(InstanceHandle i, nuint p, out nuint n);
    [LibraryImport(Library)] internal static partial ResultCode rsess_instance_property_element(InstanceHandle i, nuint p, nuint k, out IntPtr s);
    [LibraryImport(Library)] internal static partial void rsess_instance_free(IntPtr i);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_transport_process_new(string program, IntPtr[] args, nuint nargs, out TransportHandle transport, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_transport_ssh_new(string hostSpec, string? user, uint port, string? keyFile, string? subsystem, IntPtr[] options, nuint noptions, out TransportHandle transport, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_shell_list_new(string computerName, SessionOptionsHandle options, CredentialHandle credential, out ShellListHandle list, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_shell_list_len(ShellListHandle l, out nuint n);
    [LibraryImport(Library)] internal static partial ResultCode rsess_shell_list_get(ShellListHandle l, nuint index, uint field, out IntPtr value);
    [LibraryImport(Library)] internal static partial void rsess_shell_list_free(IntPtr l);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_transport_wsman_new(string computerName, string? configurationName, string? shellName, uint idleTimeoutMs, SessionOptionsHandle options, CredentialHandle credential, out TransportHandle transport, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_transport_disconnect(TransportHandle t, uint idleTimeoutMs, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_transport_reconnect(TransportHandle t, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_transport_start_pipelines_disconnected(TransportHandle t, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_transport_send(TransportHandle t, string line, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_transport_receive(TransportHandle t, int timeoutMs, out IntPtr line, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_transport_stderr(TransportHandle t, out IntPtr text);
    [LibraryImport(Library)] internal static partial ResultCode rsess_transport_pid(TransportHandle t, out uint pid);
    [LibraryImport(Library)] internal static partial ResultCode rsess_transport_close(TransportHandle t);
    [LibraryImport(Library)] internal static partial void rsess_transport_free(IntPtr t);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_pssession_register(ScopeHandle scope, TransportHandle transport, int id, string instanceId, string name, string computerName, string transportName, out PSSessionHandle session, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_set_state(PSSessionHandle s, uint state);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_state(PSSessionHandle s, out uint state);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_disconnect(PSSessionHandle s, uint idleTimeoutMs, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_reconnect(PSSessionHandle s, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_id(PSSessionHandle s, out int id);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_name(PSSessionHandle s, out IntPtr name);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_instance_id(PSSessionHandle s, out IntPtr id);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_computer_name(PSSessionHandle s, out IntPtr name);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_transport(PSSessionHandle s, out IntPtr name);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_remove(ScopeHandle scope, PSSessionHandle s, out IntPtr error);
    [LibraryImport(Library)] internal static partial void rsess_pssession_free(IntPtr s);
    [LibraryImport(Library)]
    internal static partial ResultCode rsess_pssession_find(ScopeHandle scope, Lookup kind, IntPtr[] values, nuint count, out PSSessionListHandle list, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_list_len(PSSessionListHandle l, out nuint len);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_list_get(PSSessionListHandle l, nuint i, out PSSessionHandle s);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pssession_list_missing(PSSessionListHandle l, out StringListHandle missing);
    [LibraryImport(Library)] internal static partial void rsess_pssession_list_free(IntPtr l);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_pssession_open(ScopeHandle scope, TransportHandle transport, string? name, int timeoutMs, out PSSessionHandle session, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_pssession_connect(ScopeHandle scope, TransportHandle transport, string? name, int timeoutMs, out PSSessionHandle session, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_pssession_attach(PSSessionHandle s, string pipelineId, out PipelineHandle pipeline, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_transport_wsman_connect_new(string computerName, string? configurationName, string shellId, SessionOptionsHandle options, CredentialHandle credential, out TransportHandle transport, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_transport_wsman_reconstruct_new(string computerName, string? configurationName, string shellId, SessionOptionsHandle options, CredentialHandle credential, out TransportHandle transport, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_shell_commands_new(string computerName, string shellId, SessionOptionsHandle options, CredentialHandle credential, out StringListHandle list, out IntPtr error);
    [LibraryImport(Library)]
    internal static partial ResultCode rsess_pssession_invoke(PSSessionHandle s, IntPtr[] commands, nuint ncommands, IntPtr[] input, nuint ninput, out PipelineHandle pipeline, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_pscommand_new(string text, [MarshalAs(UnmanagedType.U1)] bool isScript, out PSCommandHandle command, out IntPtr error);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_pscommand_add_parameter(PSCommandHandle c, string name, PSValueHandle value, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pscommand_add_argument(PSCommandHandle c, PSValueHandle value, out IntPtr error);
    [LibraryImport(Library)] internal static partial void rsess_pscommand_free(IntPtr c);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pipeline_next(PipelineHandle p, int timeoutMs, out uint stream, out PSValueHandle value, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pipeline_stop(PipelineHandle p, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pipeline_state(PipelineHandle p, out uint state);
    [LibraryImport(Library)] internal static partial ResultCode rsess_pipeline_reason(PipelineHandle p, out PSValueHandle reason);
    [LibraryImport(Library)] internal static partial void rsess_pipeline_free(IntPtr p);

    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_new_null(out PSValueHandle v);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_psvalue_new_string(string text, out PSValueHandle v, out IntPtr error);
    [LibraryImport(Library)] internal static unsafe partial ResultCode rsess_psvalue_new_securestring(byte* text, out PSValueHandle v, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_securestring_text(PSValueHandle v, out IntPtr text, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_new_int32(int value, out PSValueHandle v);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_new_int64(long value, out PSValueHandle v);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_new_double(double value, out PSValueHandle v);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_new_bool([MarshalAs(UnmanagedType.U1)] bool value, out PSValueHandle v);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_psvalue_from_clixml(string text, out PSValueHandle v, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_kind(PSValueHandle v, out PSValueKind kind);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_text(PSValueHandle v, out IntPtr text);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_clixml(PSValueHandle v, out IntPtr text);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_int64(PSValueHandle v, out long value);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_double(PSValueHandle v, out double value);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_bool(PSValueHandle v, [MarshalAs(UnmanagedType.U1)] out bool value);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_datetime(PSValueHandle v, out long unixMicros, out short utcOffsetMinutes);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ResultCode rsess_psvalue_property(PSValueHandle v, string name, out PSValueHandle property, out IntPtr error);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_record_text(PSValueHandle v, uint stream, out IntPtr text);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_error_id(PSValueHandle v, out IntPtr id);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_error_category(PSValueHandle v, out int category);
    [LibraryImport(Library)] internal static partial ResultCode rsess_psvalue_error_target(PSValueHandle v, out IntPtr target);
    [LibraryImport(Library)] internal static partial void rsess_psvalue_free(IntPtr v);
}

/// <summary>Session option switches (<c>rsess_option_flag</c>); WS-Management options only.</summary>
internal enum OptionFlag : uint
{
    UseSsl = 1,
    SkipCACheck = 2,
    SkipCNCheck = 3,
    SkipRevocationCheck = 4,
    NoEncryption = 5,
    EncodePortInServicePrincipalName = 6,
}

/// <summary><c>rsess_instance_name</c>: a class and its key values, as UTF-8 pointers owned by the caller.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct InstanceName(IntPtr ClassName, IntPtr KeyNames, IntPtr KeyValues, nuint KeyCount);

/// <summary><c>rsess_association_filter</c>: each member a UTF-8 pointer owned by the caller, or zero for any.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct AssociationFilter(IntPtr AssociationClass, IntPtr Role, IntPtr ResultClass, IntPtr ResultRole);
