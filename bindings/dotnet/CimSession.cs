namespace RemoteSessions.Native;

/// <summary>
/// A CIM session registered in a <see cref="SessionScope"/>: to this machine (the local provider) or to a
/// WS-Management server (DMTF DSP0226/DSP0227, MS-WSMV). The identity (Id, Name, InstanceId,
/// ComputerName, Protocol) is read once; operations fail with <see cref="ResultCode.SessionRemoved"/>
/// after the session was removed. Dispose frees this reference only; the session stays registered until
/// removed (<see cref="SessionScope.Remove"/>). Thread-safe: operations may run on several threads at once.
/// </summary>
/// <remarks>
/// Every operation takes an optional <see cref="CancellationToken"/>. A token already cancelled throws
/// <see cref="OperationCanceledException"/> before anything is sent; cancelling it while the operation
/// waits (from any thread) stops the wire operation, and the call throws
/// <see cref="OperationCanceledException"/> whose <see cref="Exception.InnerException"/> is the
/// <see cref="RemoteSessionsException"/> with <see cref="ResultCode.Cancelled"/>. Namespaces are written
/// <c>root/cimv2</c> or <c>root\cimv2</c>; null means <c>root/cimv2</c>. Key values are text, as
/// <see cref="CimValues.Format"/> writes them. Streaming operations (<see cref="Enumerate"/>,
/// <see cref="Query"/>, <see cref="Associators"/>, <see cref="References"/>) start when their result is
/// enumerated, and each enumeration runs the operation anew.
/// </remarks>
public sealed class CimSession : IDisposable
{
    internal CimSession(CimSessionHandle handle)
    {
        Handle = handle;
        Native.Check(NativeMethods.rsess_cim_session_id(handle, out uint id));
        Id = id;
        Native.Check(NativeMethods.rsess_cim_session_name(handle, out IntPtr name));
        Name = Native.TakeString(name) ?? "";
        Native.Check(NativeMethods.rsess_cim_session_instance_id(handle, out IntPtr iid));
        InstanceId = Guid.Parse(Native.TakeString(iid) ?? "");
        Native.Check(NativeMethods.rsess_cim_session_computer_name(handle, out IntPtr cn));
        ComputerName = Native.TakeString(cn) ?? "";
        Native.Check(NativeMethods.rsess_cim_session_protocol(handle, out IntPtr protocol));
        Protocol = Native.TakeString(protocol) ?? "";
    }

    internal CimSessionHandle Handle { get; }

    /// <summary>Id within its scope, counted from 1.</summary>
    public uint Id { get; }

    /// <summary>The session's name: as given, else <c>CimSession&lt;Id&gt;</c>.</summary>
    public string Name { get; }

    /// <summary>The session's InstanceId, unique across scopes.</summary>
    public Guid InstanceId { get; }

    /// <summary>The computer name as given (<c>localhost</c> for a local session), not resolved.</summary>
    public string ComputerName { get; }

    /// <summary><c>Local</c> for the in-process provider, <c>WSMAN</c> for WS-Management.</summary>
    public string Protocol { get; }

    /// <summary>True once the session was removed from its scope.</summary>
    /// <exception cref="ObjectDisposedException">This reference was disposed.</exception>
    public bool IsRemoved
    {
        get
        {
            Native.Check(NativeMethods.rsess_cim_session_is_removed(Handle, out bool removed));
            return removed;
        }
    }

    /// <summary>
    /// Enumerates the instances of <paramref name="className"/> (and, unless
    /// <see cref="OperationFlags.Shallow"/>, its subclasses): WS-Enumeration Enumerate, then Pull page by
    /// page over WS-Management (DSP0226 §8). The first page is read when the enumeration starts, later
    /// pages as the caller reads on; disposing the enumerator early (as <c>foreach</c> does on
    /// <c>break</c>) releases the server's enumeration context.
    /// </summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The class, e.g. <c>Win32_Service</c>; over WS-Management also a resource URI.</param>
    /// <param name="flags">Only keys, only the class itself.</param>
    /// <param name="cancellationToken">Stops the operation, also mid-enumeration.</param>
    /// <returns>The instances, streamed.</returns>
    /// <exception cref="RemoteSessionsException">InvalidNamespace, InvalidClass, SessionRemoved, Io; over
    /// WS-Management also the server's faults and network failures (AccessDenied, ConnectionFailed,
    /// TlsFailed, Timeout, BadReply, Fault).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<CimInstanceData> Enumerate(string? namespaceName, string className, OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
            NativeMethods.rsess_cim_enumerate(Handle, namespaceName, className, flags, cancel, out it, out err), cancellationToken);

    /// <summary>Runs a query and streams its results as <see cref="Enumerate"/> does (over WS-Management an
    /// Enumerate with a filter in the query's dialect, DSP0227 §7.2).</summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="dialect"><c>WQL</c> (null) or <c>CQL</c> (WS-Management only).</param>
    /// <param name="query">The query text, e.g. <c>SELECT Name FROM Win32_Service WHERE State = 'Running'</c>.</param>
    /// <param name="flags">Only keys, only the class itself.</param>
    /// <param name="cancellationToken">Stops the operation, also mid-enumeration.</param>
    /// <returns>The instances, streamed.</returns>
    /// <exception cref="RemoteSessionsException">InvalidQuery, InvalidNamespace, InvalidClass, NotSupported
    /// (a dialect the session does not take); over WS-Management as for <see cref="Enumerate"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<CimInstanceData> Query(string? namespaceName, string? dialect, string query, OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
            NativeMethods.rsess_cim_query(Handle, namespaceName, dialect, query, flags, cancel, out it, out err), cancellationToken);

    /// <summary>
    /// Reads the instance of <paramref name="className"/> with the given key values: a WS-Transfer Get
    /// over WS-Management (DSP0226 §7.3).
    /// </summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The class; over WS-Management also a resource URI.</param>
    /// <param name="keys">The key properties' names and values (text).</param>
    /// <param name="cancellationToken">Stops the operation.</param>
    /// <returns>The instance.</returns>
    /// <exception cref="RemoteSessionsException">NotFound when no instance has those keys; InvalidClass,
    /// InvalidNamespace, SessionRemoved; over WS-Management the server's faults and network failures.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public CimInstanceData GetInstance(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        using var names = KeyNames(keys);
        using var values = KeyValues(keys);
        cancel.Check(NativeMethods.rsess_cim_get_instance(Handle, namespaceName, className, names.Pointers, values.Pointers, names.Count, cancel.Handle, out InstanceHandle i, out IntPtr err), err);
        using (i) return CimInstanceData.Read(i);
    }

    /// <summary>
    /// The instances associated with the instance of <paramref name="className"/> that has the given key
    /// values (CIM Associators; the association filter of DSP0227 §8.2 over WS-Management), streamed as
    /// <see cref="Enumerate"/>. The local provider serves no associations (no instances).
    /// </summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The source instance's class, or a resource URI (containing <c>://</c>) that names it as is.</param>
    /// <param name="keys">The source instance's key properties' names and values (text).</param>
    /// <param name="associationClass">Only through associations of this class; null = any.</param>
    /// <param name="resultClass">Only results of this class; null = any.</param>
    /// <param name="role">Only where the source plays this role (a reference property of the association); null = any.</param>
    /// <param name="resultRole">Only where the result plays this role; null = any.</param>
    /// <param name="flags"><see cref="OperationFlags.KeysOnly"/> gives only the results' keys; Shallow is refused.</param>
    /// <param name="cancellationToken">Stops the operation, also mid-enumeration.</param>
    /// <returns>The associated instances, streamed.</returns>
    /// <exception cref="RemoteSessionsException">InvalidNamespace, InvalidClass, SessionRemoved,
    /// InvalidArgument (Shallow); over WS-Management the server's faults and network failures.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<CimInstanceData> Associators(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys,
        string? associationClass = null, string? resultClass = null, string? role = null, string? resultRole = null,
        OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
            Associate(false, namespaceName, className, keys, associationClass, role, resultClass, resultRole, flags, cancel, out it, out err),
            cancellationToken);

    /// <summary>
    /// The association instances that refer to the instance named as for <see cref="Associators"/> (CIM
    /// References; DSP0227 §8.2), streamed as <see cref="Enumerate"/>.
    /// </summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The source instance's class, or a resource URI.</param>
    /// <param name="keys">The source instance's key properties' names and values (text).</param>
    /// <param name="resultClass">Only associations of this class; null = any.</param>
    /// <param name="role">Only where the source plays this role; null = any.</param>
    /// <param name="flags">As for <see cref="Associators"/>.</param>
    /// <param name="cancellationToken">Stops the operation, also mid-enumeration.</param>
    /// <returns>The association instances, streamed.</returns>
    /// <exception cref="RemoteSessionsException">As for <see cref="Associators"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<CimInstanceData> References(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys,
        string? resultClass = null, string? role = null, OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
            Associate(true, namespaceName, className, keys, null, role, resultClass, null, flags, cancel, out it, out err),
            cancellationToken);

    /// Starts Associators or (when <paramref name="references"/>) References: the source instance and
    /// the filter go to the library as <c>rsess_instance_name</c> and <c>rsess_association_filter</c>,
    /// whose strings live until the call returns.
    private unsafe ResultCode Associate(bool references, string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys,
        string? associationClass, string? role, string? resultClass, string? resultRole, OperationFlags flags, CancelHandle cancel,
        out InstanceIterHandle it, out IntPtr err)
    {
        using var names = KeyNames(keys);
        using var values = KeyValues(keys);
        using var texts = new Utf8Strings([className, associationClass, role, resultClass, resultRole]);
        fixed (IntPtr* n = names.Pointers, v = values.Pointers)
        {
            var source = new InstanceName(texts.Pointers[0], (IntPtr)n, (IntPtr)v, names.Count);
            var filter = new AssociationFilter(texts.Pointers[1], texts.Pointers[2], texts.Pointers[3], texts.Pointers[4]);
            return references
                ? NativeMethods.rsess_cim_references(Handle, namespaceName, in source, in filter, flags, cancel, out it, out err)
                : NativeMethods.rsess_cim_associators(Handle, namespaceName, in source, in filter, flags, cancel, out it, out err);
        }
    }

    /// <summary>
    /// Invokes <paramref name="method"/> of <paramref name="className"/> on the instance with the given
    /// key values, or statically when <paramref name="keys"/> is empty (a custom action over
    /// WS-Management, DSP0227 §9).
    /// </summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The class; over WS-Management also a resource URI.</param>
    /// <param name="keys">The instance's key properties' names and values (text); empty for a static method.</param>
    /// <param name="method">The method's name.</param>
    /// <param name="parameters">The in-parameters' names and .NET values, typed as <see cref="CimValues.Format"/> says.</param>
    /// <param name="cancellationToken">Stops the operation.</param>
    /// <returns>An instance whose properties are <c>ReturnValue</c> and the out-parameters.</returns>
    /// <exception cref="RemoteSessionsException">MethodNotFound, NotFound, InvalidArgument, SessionRemoved;
    /// over WS-Management the server's faults and network failures.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public CimInstanceData Invoke(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys, string method,
        IEnumerable<(string Name, object? Value)> parameters, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        using ParamsHandle p = Params(parameters);
        using var names = KeyNames(keys);
        using var values = KeyValues(keys);
        cancel.Check(NativeMethods.rsess_cim_invoke(Handle, namespaceName, className, names.Pointers, values.Pointers, names.Count, method, p, cancel.Handle, out InstanceHandle o, out IntPtr err), err);
        using (o) return CimInstanceData.Read(o);
    }

    /// <summary>Creates an instance (New-CimInstance; a WS-Transfer Create over WS-Management, DSP0226 §7.6).</summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The class; over WS-Management also a resource URI.</param>
    /// <param name="properties">The properties' names and .NET values, typed as <see cref="CimValues.Format"/> says.</param>
    /// <param name="cancellationToken">Stops the operation.</param>
    /// <returns>The instance as the server then has it.</returns>
    /// <exception cref="RemoteSessionsException">NotSupported on a local session (its provider is
    /// read-only), AlreadyExists, InvalidArgument; over WS-Management the server's faults and network failures.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public CimInstanceData CreateInstance(string? namespaceName, string className, IEnumerable<(string Name, object? Value)> properties, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        using ParamsHandle p = Params(properties);
        cancel.Check(NativeMethods.rsess_cim_create_instance(Handle, namespaceName, className, p, cancel.Handle, out InstanceHandle created, out IntPtr err), err);
        using (created) return CimInstanceData.Read(created);
    }

    /// <summary>Changes the instance with the given keys (Set-CimInstance; a WS-Transfer Put over
    /// WS-Management, DSP0226 §7.5).</summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The class; over WS-Management also a resource URI.</param>
    /// <param name="keys">The instance's key properties' names and values (text).</param>
    /// <param name="properties">The properties' new names and .NET values, typed as <see cref="CimValues.Format"/> says.</param>
    /// <param name="cancellationToken">Stops the operation.</param>
    /// <returns>The instance as the server then has it.</returns>
    /// <exception cref="RemoteSessionsException">As <see cref="CreateInstance"/>, and NotFound.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public CimInstanceData ModifyInstance(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys,
        IEnumerable<(string Name, object? Value)> properties, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        using ParamsHandle p = Params(properties);
        using var names = KeyNames(keys);
        using var values = KeyValues(keys);
        cancel.Check(NativeMethods.rsess_cim_modify_instance(Handle, namespaceName, className, names.Pointers, values.Pointers, names.Count, p, cancel.Handle, out InstanceHandle o, out IntPtr err), err);
        using (o) return CimInstanceData.Read(o);
    }

    /// <summary>Deletes the instance with the given keys (Remove-CimInstance; a WS-Transfer Delete over
    /// WS-Management, DSP0226 §7.7).</summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The class; over WS-Management also a resource URI.</param>
    /// <param name="keys">The instance's key properties' names and values (text).</param>
    /// <param name="cancellationToken">Stops the operation.</param>
    /// <exception cref="RemoteSessionsException">As <see cref="CreateInstance"/>, and NotFound.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public void DeleteInstance(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        using var names = KeyNames(keys);
        using var values = KeyValues(keys);
        cancel.Check(NativeMethods.rsess_cim_delete_instance(Handle, namespaceName, className, names.Pointers, values.Pointers, names.Count, cancel.Handle, out IntPtr err), err);
    }

    /// <summary>
    /// The declaration of <paramref name="className"/> (Get-CimClass): over WS-Management a GetClass
    /// (CIM-XML, DSP0201), locally the provider's declaration.
    /// </summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="className">The class.</param>
    /// <param name="cancellationToken">Stops the operation.</param>
    /// <returns>The declaration.</returns>
    /// <exception cref="RemoteSessionsException">InvalidClass, InvalidNamespace, SessionRemoved; over
    /// WS-Management the server's faults and network failures.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public CimClassData GetClass(string? namespaceName, string className, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        cancel.Check(NativeMethods.rsess_cim_get_class(Handle, namespaceName, className, cancel.Handle, out ClassHandle c, out IntPtr err), err);
        using (c) return CimClassData.Read(c);
    }

    /// <summary>Every class declaration in a namespace (Get-CimClass with a wildcard); over
    /// WS-Management an Enumerate of the CIM-XML class resource, which not every server offers (OMI refuses).</summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <param name="cancellationToken">Stops the operation.</param>
    /// <returns>The declarations, read in full.</returns>
    /// <exception cref="RemoteSessionsException">As <see cref="GetClass"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<CimClassData> Classes(string? namespaceName, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        cancel.Check(NativeMethods.rsess_cim_classes(Handle, namespaceName, cancel.Handle, out ClassListHandle list, out IntPtr err), err);
        using (list)
        {
            Native.Check(NativeMethods.rsess_class_list_len(list, out nuint len));
            var classes = new CimClassData[(int)len];
            for (nuint i = 0; i < len; i++)
            {
                Native.Check(NativeMethods.rsess_class_list_get(list, i, out ClassHandle c));
                using (c) classes[(int)i] = CimClassData.Read(c);
            }
            return classes;
        }
    }

    /// <summary>The class names this session serves in a namespace (for argument completion): locally the
    /// provider's classes and their superclasses, sorted; over WS-Management the names of
    /// <see cref="Classes"/>, which asks the server and cannot be cancelled.</summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <returns>The class names.</returns>
    /// <exception cref="RemoteSessionsException">InvalidNamespace, SessionRemoved; over WS-Management as
    /// for <see cref="Classes"/>.</exception>
    public IReadOnlyList<string> ClassNames(string? namespaceName = null)
    {
        Native.Check(NativeMethods.rsess_cim_class_names(Handle, namespaceName, out StringListHandle names, out IntPtr err), err);
        using (names) return Native.ReadStringList(names);
    }

    // Builds a native parameter list from names and .NET values (CimValues.Format gives type and text).
    private static ParamsHandle Params(IEnumerable<(string Name, object? Value)> values)
    {
        Native.Check(NativeMethods.rsess_params_new(out ParamsHandle p));
        foreach ((string name, object? value) in values)
        {
            (CimType type, string?[] texts) = CimValues.Format(value);
            using var present = new Utf8Strings(texts.OfType<string>());
            Native.Check(NativeMethods.rsess_params_add(p, name, type, present.Pointers, present.Count));
        }
        return p;
    }

    private static Utf8Strings KeyNames(IReadOnlyList<(string Name, string Value)> keys) => new(keys.Select(k => k.Name));

    private static Utf8Strings KeyValues(IReadOnlyList<(string Name, string Value)> keys) => new(keys.Select(k => k.Value));

    // Starts a streaming operation: the native call that makes the iterator, given the cancel handle.
    private delegate ResultCode StartIteration(CancelHandle cancel, out InstanceIterHandle iterator, out IntPtr error);

    // Runs a streaming operation when the caller starts enumerating. Instances are read one at a time as
    // the caller asks for them; the iterator and the cancellation bridge are freed at the end or when the
    // caller stops early (foreach disposes the enumerator). Each instance is copied out and freed at once,
    // so it needs no handle object of its own.
    private static IEnumerable<CimInstanceData> Stream(StartIteration start, CancellationToken cancellationToken)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        ResultCode rc = start(cancel.Handle, out InstanceIterHandle it, out IntPtr err);
        using (it)
        {
            cancel.Check(rc, err);
            while (true)
            {
                cancel.Check(NativeMethods.rsess_instance_iter_next(it, out IntPtr instance, out IntPtr nextErr), nextErr);
                if (instance == IntPtr.Zero) yield break;
                CimInstanceData data;
                try { data = CimInstanceData.Read(instance); }
                finally { NativeMethods.rsess_instance_free(instance); }
                yield return data;
            }
        }
    }

    /// <summary>Frees this reference; the session stays registered until removed from its scope.</summary>
    public void Dispose() => Handle.Dispose();

    /// <summary>The computer name.</summary>
    public override string ToString() => ComputerName;
}
