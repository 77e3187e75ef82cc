namespace RemoteSessions.Native;

/// <summary>
/// A PSRP server process whose stdin/stdout carry OutOfProc packets, one line of XML each
/// (PowerShell's OutOfProc framing of MS-PSRP messages; spec/cmdlet-behaviour.md §3.2): what PowerShell's
/// engine talks to through the module's connection.
/// One thread may send while another receives. Disposing kills the server.
/// </summary>
public sealed class PsrpTransport : IDisposable
{
    private readonly TransportHandle _handle;

    private PsrpTransport(TransportHandle handle) => _handle = handle;

    internal TransportHandle Handle => _handle;

    /// <summary>Starts a PSRP server process, e.g. <c>pwsh -s -NoLogo</c>.</summary>
    /// <param name="program">A path, or a name looked up on PATH.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <returns>The running server; dispose it to kill it.</returns>
    /// <exception cref="RemoteSessionsException">NotFound when there is no such program; Io.</exception>
    public static PsrpTransport StartProcess(string program, IReadOnlyList<string> arguments)
    {
        using var args = new Utf8Strings(arguments);
        Native.Check(NativeMethods.rsess_transport_process_new(program, args.Pointers, args.Count, out TransportHandle t, out IntPtr err), err);
        return new PsrpTransport(t);
    }

    /// <summary>
    /// Starts <c>ssh</c> for a PowerShell session to <paramref name="hostSpec"/> (<c>[user@]host[:port]</c>,
    /// whose user and port win over <paramref name="user"/> and <paramref name="port"/>; port 0 = ssh's
    /// default), asking for <paramref name="subsystem"/> (null = <c>powershell</c>), with
    /// <paramref name="options"/> as <c>-o key=value</c>. spec/cmdlet-behaviour.md §2.4.
    /// </summary>
    /// <param name="hostSpec">The host, <c>[user@]host[:port]</c>.</param>
    /// <param name="user">The user name; null = ssh's default.</param>
    /// <param name="port">The TCP port; 0 = ssh's default.</param>
    /// <param name="keyFile">The private key file (<c>ssh -i</c>); null = ssh's default.</param>
    /// <param name="subsystem">The SSH subsystem; null = <c>powershell</c>.</param>
    /// <param name="options">ssh options as <c>key=value</c>.</param>
    /// <returns>The running <c>ssh</c>; dispose it to end it.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument (bad host, port, option); NotFound (no ssh).</exception>
    public static PsrpTransport StartSsh(string hostSpec, string? user, int port, string? keyFile, string? subsystem, IReadOnlyList<string> options)
    {
        using var opts = new Utf8Strings(options);
        Native.Check(NativeMethods.rsess_transport_ssh_new(hostSpec, user, (uint)Math.Max(port, 0), keyFile, subsystem, opts.Pointers, opts.Count, out TransportHandle t, out IntPtr err), err);
        return new PsrpTransport(t);
    }

    /// <summary>
    /// A transport to a new PowerShell shell on <paramref name="computerName"/> over WS-Management (WinRS,
    /// MS-PSRP 3.1.5.3), as <c>New-PSSession -ComputerName</c> makes. Nothing goes on the wire until the
    /// runspace pool's first packet: that creates the shell.
    /// </summary>
    /// <param name="computerName">The host name or address.</param>
    /// <param name="configurationName">The session configuration; null = <c>Microsoft.PowerShell</c>.</param>
    /// <param name="shellName">The shell's name (the session's name on the server); null = none.</param>
    /// <param name="idleTimeoutMs">How long the server keeps the shell without a client, in ms; 0 = its default.</param>
    /// <param name="options">HTTPS, port, path, TLS checks, timeout, envelope size; null = defaults (HTTP, 5985, /wsman).</param>
    /// <param name="credential">Who connects; null = Negotiate with the system's credential.</param>
    /// <returns>The transport; dispose it to delete the shell (unless disconnected).</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument (bad name, Basic over HTTP without NoEncryption); NotSupported (Digest).</exception>
    public static PsrpTransport OpenWsman(string computerName, string? configurationName, string? shellName, uint idleTimeoutMs,
        CimSessionOptions? options, CimCredential? credential)
    {
        using SessionOptionsHandle opts = options?.ToNative() ?? new SessionOptionsHandle();
        using CredentialHandle cred = credential?.ToNative() ?? new CredentialHandle();
        Native.Check(NativeMethods.rsess_transport_wsman_new(computerName, configurationName, shellName, idleTimeoutMs, opts, cred, out TransportHandle t, out IntPtr err), err);
        return new PsrpTransport(t);
    }

    /// <summary>
    /// A transport to the existing PowerShell shell <paramref name="shellId"/> (a session another client
    /// disconnected, as <see cref="WsmanShell.List"/> lists it), for <see cref="SessionScope.ConnectPSSession"/>:
    /// its first packet is a WinRS Connect instead of a Create. Nothing goes on the wire yet.
    /// </summary>
    /// <exception cref="RemoteSessionsException">InvalidArgument (a shell id that is not a GUID, a bad name); NotSupported (Digest).</exception>
    public static PsrpTransport ConnectWsman(string computerName, string? configurationName, string shellId, CimSessionOptions? options, CimCredential? credential)
    {
        using SessionOptionsHandle opts = options?.ToNative() ?? new SessionOptionsHandle();
        using CredentialHandle cred = credential?.ToNative() ?? new CredentialHandle();
        Native.Check(NativeMethods.rsess_transport_wsman_connect_new(computerName, configurationName, shellId, opts, cred, out TransportHandle t, out IntPtr err), err);
        return new PsrpTransport(t);
    }

    /// <summary>
    /// A transport to the existing PowerShell shell <paramref name="shellId"/>, as <see cref="ConnectWsman"/>,
    /// for a PSRP client that opens a runspace pool instead of connecting one (PowerShell's engine through a
    /// custom connection; MS-PSRP 3.1.4.7 "reconstruct"): the client's opening becomes a connect to the
    /// shell's pool, the server's answer reaches it as an opened pool, and the runspace pool id in each
    /// message is the client's on its side and the shell's on the wire. Nothing goes on the wire yet.
    /// </summary>
    /// <exception cref="RemoteSessionsException">As <see cref="ConnectWsman"/>.</exception>
    public static PsrpTransport ReconstructWsman(string computerName, string? configurationName, string shellId, CimSessionOptions? options, CimCredential? credential)
    {
        using SessionOptionsHandle opts = options?.ToNative() ?? new SessionOptionsHandle();
        using CredentialHandle cred = credential?.ToNative() ?? new CredentialHandle();
        Native.Check(NativeMethods.rsess_transport_wsman_reconstruct_new(computerName, configurationName, shellId, opts, cred, out TransportHandle t, out IntPtr err), err);
        return new PsrpTransport(t);
    }

    /// <summary>
    /// Disconnects a WS-Management transport's shell (MS-WSMV 3.1.4.15): the server keeps it, and its
    /// output, for <paramref name="idleTimeoutMs"/> ms (0 = the shell's own idle timeout).
    /// </summary>
    /// <exception cref="RemoteSessionsException">NotSupported for a process or ssh transport; InvalidState unless connected; the server's refusal.</exception>
    public void Disconnect(uint idleTimeoutMs = 0) => Native.Check(NativeMethods.rsess_transport_disconnect(_handle, idleTimeoutMs, out IntPtr err), err);

    /// <summary>Reconnects a shell <see cref="Disconnect"/> left (MS-WSMV 3.1.4.16); output written meanwhile then arrives.</summary>
    /// <exception cref="RemoteSessionsException">NotSupported for a process or ssh transport; InvalidState unless disconnected; the server's refusal.</exception>
    public void Reconnect() => Native.Check(NativeMethods.rsess_transport_reconnect(_handle, out IntPtr err), err);

    /// <summary>
    /// Makes the pipelines started from now on until the next <see cref="Disconnect"/> run on the server
    /// unread (PowerShell's Invoke-Command -InDisconnectedSession): their output stays on the server for the
    /// next client, and at the disconnect they end here as Completed without being stopped there.
    /// </summary>
    /// <exception cref="RemoteSessionsException">NotSupported for a process or ssh transport; InvalidState when disconnected or closed.</exception>
    public void StartPipelinesDisconnected() => Native.Check(NativeMethods.rsess_transport_start_pipelines_disconnected(_handle, out IntPtr err), err);

    /// <summary>Sends one packet.</summary>
    /// <param name="line">The packet's XML, without line breaks.</param>
    /// <exception cref="RemoteSessionsException">TransportBroken when the server is gone.</exception>
    public void Send(string line) => Native.Check(NativeMethods.rsess_transport_send(_handle, line, out IntPtr err), err);

    /// <summary>Waits for the next packet.</summary>
    /// <param name="timeoutMs">Milliseconds to wait; negative = no limit.</param>
    /// <returns>The packet's XML, or null once the server closed its output.</returns>
    /// <exception cref="RemoteSessionsException">Timeout when nothing arrived in time.</exception>
    public string? Receive(int timeoutMs = -1)
    {
        Native.Check(NativeMethods.rsess_transport_receive(_handle, timeoutMs, out IntPtr line, out IntPtr err), err);
        return Native.TakeString(line);
    }

    /// <summary>What the server wrote to stderr so far (its last 64 KiB).</summary>
    public string StandardError => Native.ReadString(NativeMethods.rsess_transport_stderr(_handle, out IntPtr s), s);

    /// <summary>The server's process id; 0 once closed.</summary>
    public int ProcessId
    {
        get
        {
            Native.Check(NativeMethods.rsess_transport_pid(_handle, out uint pid));
            return (int)pid;
        }
    }

    /// <summary>Kills the server; a blocked <see cref="Receive"/> then returns null.</summary>
    public void Close() => Native.Check(NativeMethods.rsess_transport_close(_handle));

    /// <summary>Kills the server (if <see cref="Close"/> did not) and frees the transport.</summary>
    public void Dispose() => _handle.Dispose();
}
