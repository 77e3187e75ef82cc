namespace RemoteSessions.Native;

/// <summary>
/// One command of a pipeline to run in a <see cref="PSSession"/> the library opened (MS-PSRP
/// 2.2.3.12): a script or a command by name, with parameters and positional arguments in order.
/// Values are converted when added (<see cref="PSValue.From"/>). Not thread-safe while being built;
/// dispose it when done (a pipeline keeps its own copy).
/// </summary>
public sealed class PSCommand : IDisposable
{
    private PSCommand(string text, bool isScript)
    {
        Native.Check(NativeMethods.rsess_pscommand_new(text, isScript, out PSCommandHandle h, out IntPtr err), err);
        Handle = h;
    }

    internal PSCommandHandle Handle { get; }

    /// <summary>A script, as PowerShell's <c>AddScript</c> (positional arguments become <c>$args</c>
    /// or its <c>param()</c> block's parameters).</summary>
    /// <param name="script">The script text.</param>
    /// <returns>The command.</returns>
    public static PSCommand Script(string script) => new(script, isScript: true);

    /// <summary>A command by name, as PowerShell's <c>AddCommand</c> (e.g. <c>Get-Process</c>).</summary>
    /// <param name="name">The command's name.</param>
    /// <returns>The command.</returns>
    public static PSCommand Named(string name) => new(name, isScript: false);

    /// <summary>Adds <c>-name value</c>.</summary>
    /// <param name="name">The parameter's name (a leading <c>-</c> is dropped).</param>
    /// <param name="value">A value <see cref="PSValue.From"/> takes.</param>
    /// <returns>This command.</returns>
    /// <exception cref="ArgumentException">A value of a type that cannot be sent.</exception>
    /// <exception cref="RemoteSessionsException">InvalidArgument for an empty name.</exception>
    public PSCommand AddParameter(string name, object? value)
    {
        WithValue(value, v => Native.Check(NativeMethods.rsess_pscommand_add_parameter(Handle, name, v, out IntPtr err), err));
        return this;
    }

    /// <summary>Adds the switch <c>-name</c>.</summary>
    /// <param name="name">The switch's name.</param>
    /// <returns>This command.</returns>
    public PSCommand AddSwitch(string name)
    {
        using var none = new PSValueHandle();
        Native.Check(NativeMethods.rsess_pscommand_add_parameter(Handle, name, none, out IntPtr err), err);
        return this;
    }

    /// <summary>Adds a positional argument.</summary>
    /// <param name="value">A value <see cref="PSValue.From"/> takes.</param>
    /// <returns>This command.</returns>
    public PSCommand AddArgument(object? value)
    {
        WithValue(value, v => Native.Check(NativeMethods.rsess_pscommand_add_argument(Handle, v, out IntPtr err), err));
        return this;
    }

    // A caller's PSValue is used as it is (the native side copies it); another value is converted for the call.
    private static void WithValue(object? value, Action<PSValueHandle> use)
    {
        if (value is PSValue given)
        {
            use(given.Handle);
            return;
        }
        using PSValue converted = PSValue.From(value);
        use(converted.Handle);
    }

    /// <summary>Frees the native command.</summary>
    public void Dispose() => Handle.Dispose();
}
