namespace RemoteSessions.Native;

/// <summary>The states of a PSSession, numbered as PowerShell's <c>RunspaceState</c>.</summary>
public enum PSSessionState : uint
{
    /// <summary>Not opened yet.</summary>
    BeforeOpen = 0,
    /// <summary>Being opened.</summary>
    Opening = 1,
    /// <summary>Open and usable.</summary>
    Opened = 2,
    /// <summary>Closed.</summary>
    Closed = 3,
    /// <summary>Being closed.</summary>
    Closing = 4,
    /// <summary>The server or its transport went away.</summary>
    Broken = 5,
    /// <summary>Being disconnected.</summary>
    Disconnecting = 6,
    /// <summary>Disconnected; the server keeps it.</summary>
    Disconnected = 7,
    /// <summary>Being reconnected.</summary>
    Connecting = 8,
}

/// <summary>
/// A PSSession registered in a <see cref="SessionScope"/>: identity read once, state live. One the
/// library opened (<see cref="SessionScope.OpenPSSession"/>) also runs pipelines (<see cref="Invoke(string)"/>).
/// Dispose frees this reference only; <see cref="SessionScope.RemovePSSession"/> removes the session
/// (closing the runspace pool of one the library opened).
/// </summary>
public sealed class PSSession : IDisposable
{
    internal PSSession(PSSessionHandle handle)
    {
        Handle = handle;
        Native.Check(NativeMethods.rsess_pssession_id(handle, out int id));
        Id = id;
        Name = Native.ReadString(NativeMethods.rsess_pssession_name(handle, out IntPtr n), n);
        InstanceId = Guid.Parse(Native.ReadString(NativeMethods.rsess_pssession_instance_id(handle, out IntPtr i), i));
        ComputerName = Native.ReadString(NativeMethods.rsess_pssession_computer_name(handle, out IntPtr c), c);
        Transport = Native.ReadString(NativeMethods.rsess_pssession_transport(handle, out IntPtr t), t);
    }

    internal PSSessionHandle Handle { get; }

    /// <summary>PowerShell's Id of the session (as Get-PSSession shows it).</summary>
    public int Id { get; }

    /// <summary>The session's name, e.g. <c>Runspace1</c>.</summary>
    public string Name { get; }

    /// <summary>The session's InstanceId.</summary>
    public Guid InstanceId { get; }

    /// <summary>The computer name as the session shows it (<c>localhost</c> for a local server process).</summary>
    public string ComputerName { get; }

    /// <summary><c>WSMan</c>, <c>Process</c> or <c>SSH</c>.</summary>
    public string Transport { get; }

    /// <summary>The session's state as last reported; setting it reports a new state to the registry.</summary>
    /// <exception cref="RemoteSessionsException">InvalidArgument when setting an unknown state.</exception>
    /// <exception cref="ObjectDisposedException">This reference was disposed.</exception>
    public PSSessionState State
    {
        get
        {
            Native.Check(NativeMethods.rsess_pssession_state(Handle, out uint state));
            return (PSSessionState)state;
        }
        set => Native.Check(NativeMethods.rsess_pssession_set_state(Handle, (uint)value));
    }

    /// <summary>
    /// Disconnects a WS-Management session (MS-WSMV 3.1.4.15): the server keeps it, and what its pipelines
    /// write, for <paramref name="idleTimeoutMs"/> ms (0 = the session's own idle timeout); <see cref="State"/>
    /// becomes Disconnected until <see cref="Reconnect"/>. Removing a disconnected session only lets it go: the
    /// server keeps it until its idle timeout, for another client to connect to.
    /// </summary>
    /// <exception cref="RemoteSessionsException">InvalidState unless Opened; NotSupported for process and ssh
    /// sessions; the server's refusal (the session stays Opened).</exception>
    public void Disconnect(uint idleTimeoutMs = 0) => Native.Check(NativeMethods.rsess_pssession_disconnect(Handle, idleTimeoutMs, out IntPtr err), err);

    /// <summary>Reconnects a session <see cref="Disconnect"/> left (MS-WSMV 3.1.4.16); output written meanwhile then arrives.</summary>
    /// <exception cref="RemoteSessionsException">InvalidState unless Disconnected; NotSupported for process and ssh
    /// sessions; the server's refusal (e.g. the shell ended after its idle timeout).</exception>
    public void Reconnect() => Native.Check(NativeMethods.rsess_pssession_reconnect(Handle, out IntPtr err), err);

    /// <summary>
    /// Takes up a pipeline that ran on while this session was disconnected (a session connected with
    /// <see cref="SessionScope.ConnectPSSession"/>; ids from <see cref="WsmanShell.Commands"/>): what it wrote
    /// meanwhile and writes from then on is read from the returned pipeline.
    /// </summary>
    /// <exception cref="RemoteSessionsException">InvalidState (a session PowerShell opened, a removed one, a pipeline
    /// taken up already); NotSupported (process and ssh sessions); the server's refusal.</exception>
    public PSPipeline Attach(Guid pipelineId)
    {
        Native.Check(NativeMethods.rsess_pssession_attach(Handle, pipelineId.ToString(), out PipelineHandle p, out IntPtr err), err);
        return new PSPipeline(p);
    }

    /// <summary>Starts a script in a session the library opened (<see cref="SessionScope.OpenPSSession"/>),
    /// with no input.</summary>
    /// <param name="script">The script.</param>
    /// <returns>The running pipeline; dispose it when done.</returns>
    /// <exception cref="RemoteSessionsException">InvalidState for a session PowerShell opened or one that
    /// was removed; TransportBroken when the server is gone.</exception>
    public PSPipeline Invoke(string script)
    {
        using PSCommand command = PSCommand.Script(script);
        return Invoke([command]);
    }

    /// <summary>Starts a pipeline of <paramref name="commands"/> (each piped into the next) in a session
    /// the library opened, with <paramref name="input"/> piped into the first.</summary>
    /// <param name="commands">At least one command (copied: they may be disposed after the call).</param>
    /// <param name="input">Values <see cref="PSValue.From"/> takes, or null for no input.</param>
    /// <returns>The running pipeline; dispose it when done.</returns>
    /// <exception cref="ArgumentException">An input value of a type that cannot be sent.</exception>
    /// <exception cref="RemoteSessionsException">InvalidArgument (no commands), InvalidState (a session
    /// PowerShell opened, a removed one), TransportBroken.</exception>
    public PSPipeline Invoke(IReadOnlyList<PSCommand> commands, IEnumerable<object?>? input = null)
    {
        var converted = new List<PSValue>();
        try
        {
            var values = new List<PSValue>();
            foreach (object? item in input ?? [])
            {
                if (item is PSValue given) values.Add(given);
                else
                {
                    PSValue v = PSValue.From(item);
                    converted.Add(v);
                    values.Add(v);
                }
            }
            using var cmds = new BorrowedHandles(commands.Select(c => (System.Runtime.InteropServices.SafeHandle)c.Handle));
            using var inputs = new BorrowedHandles(values.Select(v => (System.Runtime.InteropServices.SafeHandle)v.Handle));
            Native.Check(NativeMethods.rsess_pssession_invoke(Handle, cmds.Pointers, cmds.Count, inputs.Pointers, inputs.Count, out PipelineHandle p, out IntPtr err), err);
            return new PSPipeline(p);
        }
        finally
        {
            foreach (PSValue v in converted) v.Dispose();
        }
    }

    /// <summary>Frees this reference; the session stays registered.</summary>
    public void Dispose() => Handle.Dispose();
}
