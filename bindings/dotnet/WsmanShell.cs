namespace RemoteSessions.Native;

/// <summary>
/// A WinRS shell a user has on a WS-Management server (MS-WSMV 2.2.4.37 <c>rsp:Shell</c>), as
/// <see cref="List"/> reads it: for a PowerShell session, its ShellId is the runspace pool's InstanceId and
/// its Name the session's name. Values are as the server wrote them (durations as xs:duration, e.g.
/// <c>PT7200.000S</c>); null where the server said nothing.
/// </summary>
public sealed record WsmanShell(string ShellId, string? Name, string? ResourceUri, string? Owner, string? ClientIP, string? State,
    string? IdleTimeout, string? ShellRunTime, string? ShellInactivity, int? ProcessId, string? BufferMode)
{
    /// <summary>
    /// The shells the credential's user has on <paramref name="computerName"/>, from any client (what
    /// Get-PSSession -ComputerName lists): DSP0226 Enumerate and Pull of the shell resource.
    /// </summary>
    /// <param name="computerName">The host name or address.</param>
    /// <param name="options">HTTPS, port, path, TLS checks, timeout; null = defaults (HTTP, 5985, /wsman).</param>
    /// <param name="credential">Who asks; null = Negotiate with the system's credential.</param>
    /// <returns>The shells in the server's order.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument; AccessDenied (HTTP 401/403); the server's
    /// fault; TransportBroken or Timeout for an unreachable server; BadReply.</exception>
    public static IReadOnlyList<WsmanShell> List(string computerName, CimSessionOptions? options, CimCredential? credential)
    {
        using SessionOptionsHandle opts = options?.ToNative() ?? new SessionOptionsHandle();
        using CredentialHandle cred = credential?.ToNative() ?? new CredentialHandle();
        Native.Check(NativeMethods.rsess_shell_list_new(computerName, opts, cred, out ShellListHandle list, out IntPtr err), err);
        using (list)
        {
            Native.Check(NativeMethods.rsess_shell_list_len(list, out nuint n));
            var shells = new List<WsmanShell>((int)n);
            for (nuint i = 0; i < n; i++)
            {
                string? Field(uint f)
                {
                    Native.Check(NativeMethods.rsess_shell_list_get(list, i, f, out IntPtr v));
                    return Native.TakeString(v);
                }
                shells.Add(new WsmanShell(Field(0)!, Field(1), Field(2), Field(3), Field(4), Field(5), Field(6), Field(7), Field(8),
                    int.TryParse(Field(9), out int pid) ? pid : null, Field(10)));
            }
            return shells;
        }
    }

    /// <summary>
    /// The commands (pipelines) shell <paramref name="shellId"/> has on <paramref name="computerName"/>, e.g. those
    /// that ran on while their session was disconnected: DSP0226 Enumerate of the shell's commands.
    /// </summary>
    /// <exception cref="RemoteSessionsException">As <see cref="List"/>; the server's fault for no such shell.</exception>
    public static IReadOnlyList<Guid> Commands(string computerName, string shellId, CimSessionOptions? options, CimCredential? credential)
    {
        using SessionOptionsHandle opts = options?.ToNative() ?? new SessionOptionsHandle();
        using CredentialHandle cred = credential?.ToNative() ?? new CredentialHandle();
        Native.Check(NativeMethods.rsess_shell_commands_new(computerName, shellId, opts, cred, out StringListHandle list, out IntPtr err), err);
        using (list) return Native.ReadStringList(list).Select(Guid.Parse).ToList();
    }
}
