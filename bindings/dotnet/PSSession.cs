namespace RemoteSessions.Native;

/// <summary>The states of a PSSession, numbered as .NET's <c>RunspaceState</c>.</summary>
public enum PSSessionState : uint
{
    BeforeOpen = 0, Opening = 1, Opened = 2, Closed = 3, Closing = 4, Broken = 5, Disconnecting = 6,
    Disconnected = 7, Connecting = 8,
}

/// <summary>
/// A PSSession registered in a <see cref="SessionScope"/>: identity read once, state live. Dispose
/// frees this reference only; <see cref="SessionScope.RemovePSSession"/> removes the session.
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

    public int Id { get; }
    public string Name { get; }
    public Guid InstanceId { get; }
    public string ComputerName { get; }
    /// <summary><c>Process</c> or <c>SSH</c>.</summary>
    public string Transport { get; }

    /// <summary>The session's state as last reported.</summary>
    public PSSessionState State
    {
        get
        {
            Native.Check(NativeMethods.rsess_pssession_state(Handle, out uint state));
            return (PSSessionState)state;
        }
        set => Native.Check(NativeMethods.rsess_pssession_set_state(Handle, (uint)value));
    }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
