namespace RemoteSessions.Native;

/// <summary>
/// An owner scope of CIM sessions and PSSessions (a PowerShell runspace, or one part of a program):
/// CIM session Ids count from 1 per scope (spec/cmdlet-behaviour.md §1.2). Disposing the scope removes
/// all its sessions and closes the PSSessions' transports.
/// Thread-safe.
/// </summary>
public sealed class SessionScope : IDisposable
{
    private readonly ScopeHandle _handle;

    /// <summary>Creates a new, empty scope.</summary>
    /// <exception cref="DllNotFoundException">The native library cannot be loaded (see <see cref="RemoteSessionsLibrary"/>).</exception>
    public SessionScope()
    {
        Native.Check(NativeMethods.rsess_scope_new(out _handle));
    }

    /// <summary>
    /// Creates and registers a session (spec/cmdlet-behaviour.md §1.3). <paramref name="computerName"/>
    /// null = this machine, served by the local provider; a name = WS-Management to that computer.
    /// <paramref name="name"/> null = <c>CimSession&lt;Id&gt;</c>. A WS-Management session is first
    /// tested with Identify (DSP0226 §11) unless <paramref name="skipTestConnection"/>; this call blocks
    /// meanwhile, for at most the options' timeout, and cannot be cancelled.
    /// </summary>
    /// <param name="computerName">The computer; null = this machine.</param>
    /// <param name="name">The session's name; null = <c>CimSession&lt;Id&gt;</c>.</param>
    /// <param name="options">Protocol, port, TLS and timeout options; null = the defaults.</param>
    /// <param name="credential">The authentication mechanism and credential; null = none.</param>
    /// <param name="skipTestConnection">True to send nothing until the first operation.</param>
    /// <returns>A reference to the new session; dispose it when done (the session stays registered).</returns>
    /// <exception cref="RemoteSessionsException">NotSupported for DCOM to another computer or an
    /// authentication mechanism not available yet; InvalidArgument for bad options or Basic over HTTP
    /// without NoEncryption; ConnectionFailed, TlsFailed, AccessDenied, Timeout, BadReply or Fault when
    /// the test connection fails.</exception>
    public CimSession NewSession(string? computerName = null, string? name = null, CimSessionOptions? options = null,
        CimCredential? credential = null, bool skipTestConnection = false)
    {
        using SessionOptionsHandle opts = options?.ToNative() ?? new SessionOptionsHandle();
        using CredentialHandle cred = credential?.ToNative() ?? new CredentialHandle();
        ResultCode rc = NativeMethods.rsess_cim_session_new(_handle, computerName, name, opts, cred, skipTestConnection ? 1u : 0u, out CimSessionHandle s, out IntPtr err);
        Native.Check(rc, err);
        return new CimSession(s);
    }

    /// <summary>
    /// Looks sessions up (spec §1.5): results are de-duplicated and ordered by Id; <c>Missing</c> lists the
    /// values that found nothing (for names, only those without wildcard characters).
    /// </summary>
    /// <param name="kind">How to read <paramref name="values"/>.</param>
    /// <param name="values">Ids, names or patterns, computer names or InstanceIds; ignored for <see cref="Lookup.All"/>.</param>
    /// <returns>New references to the sessions found (dispose each), and the values that found none.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for an unknown kind or a bad pattern.</exception>
    public (IReadOnlyList<CimSession> Found, IReadOnlyList<string> Missing) Find(Lookup kind, IEnumerable<string>? values = null)
    {
        CimSessionListHandle list;
        using (var strings = new Utf8Strings(values ?? []))
            Native.Check(NativeMethods.rsess_cim_session_find(_handle, kind, strings.Pointers, strings.Count, out list, out IntPtr err), err);
        using (list)
        {
            Native.Check(NativeMethods.rsess_cim_session_list_len(list, out nuint n));
            var found = new List<CimSession>((int)n);
            for (nuint i = 0; i < n; i++)
            {
                Native.Check(NativeMethods.rsess_cim_session_list_get(list, i, out CimSessionHandle s));
                found.Add(new CimSession(s));
            }
            Native.Check(NativeMethods.rsess_cim_session_list_missing(list, out StringListHandle missing));
            using (missing) return (found, Native.ReadStringList(missing));
        }
    }

    /// <summary>Removes <paramref name="session"/> from this scope, releasing its connections; its
    /// operations then fail with <see cref="ResultCode.SessionRemoved"/>.</summary>
    /// <param name="session">The session to remove.</param>
    /// <exception cref="RemoteSessionsException">NotFound when it is not (or no longer) in this scope.</exception>
    public void Remove(CimSession session)
    {
        Native.Check(NativeMethods.rsess_cim_session_remove(_handle, session.Handle, out IntPtr err), err);
    }

    /// <summary>
    /// Registers a PSSession that reached Opened (its PowerShell Id, InstanceId, Name, ComputerName and
    /// transport name), with the transport carrying it, which <see cref="RemovePSSession"/> closes.
    /// </summary>
    /// <param name="id">PowerShell's Id of the session.</param>
    /// <param name="instanceId">The session's InstanceId.</param>
    /// <param name="name">The session's name.</param>
    /// <param name="computerName">The computer name the session shows.</param>
    /// <param name="transportName"><c>Process</c> or <c>SSH</c>.</param>
    /// <param name="transport">The transport carrying the session, or null.</param>
    /// <returns>A reference to the registration; dispose it when done.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument when the InstanceId is already registered.</exception>
    public PSSession RegisterPSSession(int id, Guid instanceId, string name, string computerName, string transportName, PsrpTransport? transport)
    {
        using var none = new TransportHandle();
        ResultCode rc = NativeMethods.rsess_pssession_register(_handle, transport?.Handle ?? none, id, instanceId.ToString(), name, computerName, transportName, out PSSessionHandle h, out IntPtr err);
        Native.Check(rc, err);
        return new PSSession(h);
    }

    /// <summary>
    /// Opens a PowerShell session over <paramref name="transport"/>, as New-PSSession does: a runspace
    /// pool on the server (MS-PSRP), registered in this scope with the next free Id, a new InstanceId,
    /// <paramref name="name"/> (null = <c>Runspace&lt;Id&gt;</c>) and the transport's computer name. On
    /// success the session owns the transport (the <see cref="PsrpTransport"/> object is then spent);
    /// <see cref="RemovePSSession"/> closes both. No PowerShell runspace is needed in this process.
    /// </summary>
    /// <param name="transport">A transport just started, not used for anything else.</param>
    /// <param name="name">The session's name, or null.</param>
    /// <param name="timeoutMs">How long to wait for the server, in milliseconds; negative = no limit.</param>
    /// <returns>The open session; run pipelines with <see cref="PSSession.Invoke(string)"/>.</returns>
    /// <exception cref="RemoteSessionsException">Timeout; TransportBroken when the server ends or refuses
    /// (the message carries what it or ssh wrote to stderr); BadReply when it does not speak PSRP.</exception>
    public PSSession OpenPSSession(PsrpTransport transport, string? name = null, int timeoutMs = 60_000)
    {
        Native.Check(NativeMethods.rsess_pssession_open(_handle, transport.Handle, name, timeoutMs, out PSSessionHandle h, out IntPtr err), err);
        return new PSSession(h);
    }

    /// <summary>
    /// Connects to a PowerShell session another client disconnected (MS-PSRP 3.1.4.7 over a WinRS Connect),
    /// registered in this scope with the next free Id, the server session's InstanceId and <paramref name="name"/>
    /// (null = <c>Runspace&lt;Id&gt;</c>). On success the session owns the transport. New pipelines run with
    /// <see cref="PSSession.Invoke(string)"/>; those that ran meanwhile are taken up with <see cref="PSSession.Attach"/>.
    /// </summary>
    /// <param name="transport">From <see cref="PsrpTransport.ConnectWsman"/>, not used for anything else.</param>
    /// <param name="name">The session's name, or null.</param>
    /// <param name="timeoutMs">How long to wait for the server, in milliseconds; negative = no limit.</param>
    /// <returns>The connected session.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument (another kind of transport); Timeout; TransportBroken
    /// or the server's fault when it refuses (no such shell, connected to another client).</exception>
    public PSSession ConnectPSSession(PsrpTransport transport, string? name = null, int timeoutMs = 60_000)
    {
        Native.Check(NativeMethods.rsess_pssession_connect(_handle, transport.Handle, name, timeoutMs, out PSSessionHandle h, out IntPtr err), err);
        return new PSSession(h);
    }

    /// <summary>Looks PSSessions up as Get-PSSession does (spec §2.5): registration order, no duplicates.</summary>
    /// <param name="kind">How to read <paramref name="values"/>.</param>
    /// <param name="values">Ids, names or patterns, computer names or InstanceIds; ignored for <see cref="Lookup.All"/>.</param>
    /// <returns>New references to the sessions found (dispose each), and the values that found none.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for an unknown kind or a bad pattern.</exception>
    public (IReadOnlyList<PSSession> Found, IReadOnlyList<string> Missing) FindPSSessions(Lookup kind, IEnumerable<string>? values = null)
    {
        PSSessionListHandle list;
        using (var strings = new Utf8Strings(values ?? []))
            Native.Check(NativeMethods.rsess_pssession_find(_handle, kind, strings.Pointers, strings.Count, out list, out IntPtr err), err);
        using (list)
        {
            Native.Check(NativeMethods.rsess_pssession_list_len(list, out nuint n));
            var found = new List<PSSession>((int)n);
            for (nuint i = 0; i < n; i++)
            {
                Native.Check(NativeMethods.rsess_pssession_list_get(list, i, out PSSessionHandle s));
                found.Add(new PSSession(s));
            }
            Native.Check(NativeMethods.rsess_pssession_list_missing(list, out StringListHandle missing));
            using (missing) return (found, Native.ReadStringList(missing));
        }
    }

    /// <summary>Removes a PSSession from this scope, closing its runspace pool (for one the library opened)
    /// and its transport (the server process ends).</summary>
    /// <param name="session">The registration to remove.</param>
    /// <exception cref="RemoteSessionsException">NotFound when it is not registered here.</exception>
    public void RemovePSSession(PSSession session) =>
        Native.Check(NativeMethods.rsess_pssession_remove(_handle, session.Handle, out IntPtr err), err);

    /// <summary>The class names this machine's provider serves in a namespace, and their superclasses, sorted
    /// (for argument completion).</summary>
    /// <param name="namespaceName">The namespace; null = <c>root/cimv2</c>.</param>
    /// <returns>The class names.</returns>
    /// <exception cref="RemoteSessionsException">InvalidNamespace.</exception>
    public static IReadOnlyList<string> LocalClassNames(string? namespaceName = null)
    {
        using var local = new CimSessionHandle();
        Native.Check(NativeMethods.rsess_cim_class_names(local, namespaceName, out StringListHandle names, out IntPtr err), err);
        using (names) return Native.ReadStringList(names);
    }

    /// <summary>Removes every session of the scope (closing the PSSessions' transports) and frees it.</summary>
    public void Dispose() => _handle.Dispose();
}
