namespace RemoteSessions.Native;

/// <summary>
/// A registered CIM session. The identity (Id, Name, InstanceId, ComputerName, Protocol) is read once;
/// operations fail with <see cref="ResultCode.SessionRemoved"/> after the session was removed.
/// Dispose frees this reference only; the session stays registered until removed.
/// </summary>
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

    /// <summary>Id within its scope, from 1.</summary>
    public uint Id { get; }
    public string Name { get; }
    public Guid InstanceId { get; }
    /// <summary>The computer name as given (<c>localhost</c> for a local session), not resolved.</summary>
    public string ComputerName { get; }
    /// <summary><c>Local</c> for the in-process provider, <c>WSMAN</c> for WS-Management.</summary>
    public string Protocol { get; }

    /// <summary>True once the session was removed from its scope.</summary>
    public bool IsRemoved
    {
        get
        {
            Native.Check(NativeMethods.rsess_cim_session_is_removed(Handle, out bool removed));
            return removed;
        }
    }

    /// <summary>
    /// Enumerates the instances of <paramref name="className"/> (and, unless Shallow, its subclasses).
    /// The operation starts when the enumeration does (each enumeration runs it anew); over WS-Management
    /// the first page is read then and later pages as the caller reads on. Disposing the enumerator
    /// (as <c>foreach</c> does) ends the operation; cancelling <paramref name="cancellationToken"/> stops
    /// it mid-enumeration, from any thread.
    /// </summary>
    /// <param name="namespaceName">Namespace such as <c>root/cimv2</c> or <c>root\cimv2</c>; null = root/cimv2.</param>
    /// <exception cref="RemoteSessionsException">InvalidNamespace, InvalidClass, SessionRemoved, Io; over
    /// WS-Management also the server's faults and network failures.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<CimInstanceData> Enumerate(string? namespaceName, string className, OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
            NativeMethods.rsess_cim_enumerate(Handle, namespaceName, className, flags, cancel, out it, out err), cancellationToken);

    /// <summary>Runs a query; <paramref name="dialect"/> null = WQL (locally the only dialect; WS-Management also takes CQL).</summary>
    /// <exception cref="RemoteSessionsException">InvalidQuery, InvalidNamespace, InvalidClass, NotSupported;
    /// over WS-Management as for <see cref="Enumerate"/>.</exception>
    public IEnumerable<CimInstanceData> Query(string? namespaceName, string? dialect, string query, OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
            NativeMethods.rsess_cim_query(Handle, namespaceName, dialect, query, flags, cancel, out it, out err), cancellationToken);

    /// <summary>
    /// Reads the instance of <paramref name="className"/> with the given key values (text, as
    /// <see cref="CimPropertyData.Value"/> shows them): a WS-Transfer Get over WS-Management.
    /// </summary>
    /// <exception cref="RemoteSessionsException">NotFound when no instance has those keys; InvalidClass,
    /// InvalidNamespace, SessionRemoved; over WS-Management the server's faults and network failures.</exception>
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
    /// values (CIM Associators; DSP0227 §8.2 over WS-Management), optionally only through associations of
    /// class <paramref name="associationClass"/>, the source playing <paramref name="role"/>, results of
    /// class <paramref name="resultClass"/> playing <paramref name="resultRole"/> (null = any). Streamed as
    /// <see cref="Enumerate"/>; <see cref="OperationFlags.KeysOnly"/> gives only the results' keys. The
    /// local provider serves no associations (no instances). <paramref name="className"/> may be a
    /// resource URI (containing <c>://</c>), which then names the source as is.
    /// </summary>
    /// <exception cref="RemoteSessionsException">InvalidNamespace, InvalidClass, SessionRemoved,
    /// InvalidArgument (Shallow); over WS-Management the server's faults and network failures.</exception>
    public IEnumerable<CimInstanceData> Associators(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys,
        string? associationClass = null, string? resultClass = null, string? role = null, string? resultRole = null,
        OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
        {
            using var names = KeyNames(keys);
            using var values = KeyValues(keys);
            return NativeMethods.rsess_cim_associators(Handle, namespaceName, className, names.Pointers, values.Pointers, names.Count,
                associationClass, role, resultClass, resultRole, flags, cancel, out it, out err);
        }, cancellationToken);

    /// <summary>
    /// The association instances that refer to the instance named as for <see cref="Associators"/> (CIM
    /// References), optionally only of class <paramref name="resultClass"/> with the source playing
    /// <paramref name="role"/>. Streamed, flags and errors as for <see cref="Associators"/>.
    /// </summary>
    public IEnumerable<CimInstanceData> References(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys,
        string? resultClass = null, string? role = null, OperationFlags flags = OperationFlags.None, CancellationToken cancellationToken = default) =>
        Stream((CancelHandle cancel, out InstanceIterHandle it, out IntPtr err) =>
        {
            using var names = KeyNames(keys);
            using var values = KeyValues(keys);
            return NativeMethods.rsess_cim_references(Handle, namespaceName, className, names.Pointers, values.Pointers, names.Count,
                resultClass, role, flags, cancel, out it, out err);
        }, cancellationToken);

    /// <summary>
    /// Invokes <paramref name="method"/> of <paramref name="className"/> on the instance with the given
    /// key values, or statically when <paramref name="keys"/> is empty, with in-parameters given as
    /// name, CIM type and value (see <see cref="CimValues.Format"/>). The result's properties are
    /// <c>ReturnValue</c> and the out-parameters.
    /// </summary>
    /// <exception cref="RemoteSessionsException">MethodNotFound, NotFound, InvalidArgument, SessionRemoved;
    /// over WS-Management the server's faults and network failures.</exception>
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

    /// <summary>Creates an instance of <paramref name="className"/> with <paramref name="properties"/>
    /// (New-CimInstance) and returns it as the server then has it.</summary>
    /// <exception cref="RemoteSessionsException">NotSupported on a local session (its provider is
    /// read-only), AlreadyExists, InvalidArgument; over WS-Management the server's faults and network failures.</exception>
    public CimInstanceData CreateInstance(string? namespaceName, string className, IEnumerable<(string Name, object? Value)> properties, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        using ParamsHandle p = Params(properties);
        cancel.Check(NativeMethods.rsess_cim_create_instance(Handle, namespaceName, className, p, cancel.Handle, out InstanceHandle created, out IntPtr err), err);
        using (created) return CimInstanceData.Read(created);
    }

    /// <summary>Changes the instance with the given keys to <paramref name="properties"/> (Set-CimInstance)
    /// and returns it as the server then has it.</summary>
    /// <exception cref="RemoteSessionsException">As <see cref="CreateInstance"/>, and NotFound.</exception>
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

    /// <summary>Deletes the instance with the given keys (Remove-CimInstance).</summary>
    /// <exception cref="RemoteSessionsException">As <see cref="CreateInstance"/>, and NotFound.</exception>
    public void DeleteInstance(string? namespaceName, string className, IReadOnlyList<(string Name, string Value)> keys, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        using var names = KeyNames(keys);
        using var values = KeyValues(keys);
        cancel.Check(NativeMethods.rsess_cim_delete_instance(Handle, namespaceName, className, names.Pointers, values.Pointers, names.Count, cancel.Handle, out IntPtr err), err);
    }

    /// <summary>
    /// The declaration of <paramref name="className"/> (Get-CimClass): over WS-Management a GetClass
    /// (CIM-XML), locally the provider's declaration.
    /// </summary>
    /// <exception cref="RemoteSessionsException">InvalidClass, InvalidNamespace, SessionRemoved; over
    /// WS-Management the server's faults and network failures.</exception>
    public CimClassData GetClass(string? namespaceName, string className, CancellationToken cancellationToken = default)
    {
        using var cancel = new NativeCancellation(cancellationToken);
        cancel.Check(NativeMethods.rsess_cim_get_class(Handle, namespaceName, className, cancel.Handle, out ClassHandle c, out IntPtr err), err);
        using (c) return CimClassData.Read(c);
    }

    /// <summary>Every class declaration in <paramref name="namespaceName"/> (Get-CimClass with a wildcard); over
    /// WS-Management an Enumerate of the CIM-XML class resource, which not every server offers.</summary>
    /// <exception cref="RemoteSessionsException">As <see cref="GetClass"/>.</exception>
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

    /// <summary>The class names this session serves in <paramref name="namespaceName"/>.</summary>
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

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => ComputerName;
}
