namespace RemoteSessions.Native;

/// <summary>What kind of value a <see cref="PSValue"/> holds, for choosing its accessor.</summary>
public enum PSValueKind : uint
{
    /// <summary>Null.</summary>
    Null = 0,
    /// <summary>A string (also a char): <see cref="PSValue.ToString"/>.</summary>
    String = 1,
    /// <summary>A Boolean: <see cref="PSValue.AsBoolean"/>.</summary>
    Boolean = 2,
    /// <summary>An integer of any .NET integer type that fits a long (also an enum's value): <see cref="PSValue.AsInt64"/>.</summary>
    Integer = 3,
    /// <summary>A double or single: <see cref="PSValue.AsDouble"/>.</summary>
    Double = 4,
    /// <summary>A DateTime: <see cref="PSValue.AsDateTimeOffset"/>.</summary>
    DateTime = 5,
    /// <summary>A complex object (deserialized .NET object, PSCustomObject, hashtable, list): <see cref="PSValue.Property"/>, <see cref="PSValue.ToClixml"/>.</summary>
    Object = 6,
    /// <summary>Any other primitive (decimal, GUID, byte[], TimeSpan, URI, version, XML, script block).</summary>
    Other = 7,
    /// <summary>A SecureString: its text only through <see cref="PSValue.ToSecureString"/>.</summary>
    SecureString = 8,
}

/// <summary>A pipeline's streams (MS-PSRP 2.2.2.20–2.2.2.25).</summary>
public enum PSStream : uint
{
    /// <summary>An output object.</summary>
    Output = 0,
    /// <summary>An error record: see <see cref="PSValue.ErrorId"/>.</summary>
    Error = 1,
    /// <summary>A warning record.</summary>
    Warning = 2,
    /// <summary>A verbose record.</summary>
    Verbose = 3,
    /// <summary>A debug record.</summary>
    Debug = 4,
    /// <summary>An information record (Write-Information, Write-Host).</summary>
    Information = 5,
    /// <summary>A progress record.</summary>
    Progress = 6,
}

/// <summary>
/// A value that crosses a PowerShell session, as CLIXML carries it (MS-PSRP 2.2.5): what pipelines
/// write, and what callers pass as parameters and input. Immutable; may be read from several threads.
/// Holds a native handle: dispose it (or let the finalizer free it).
/// </summary>
public sealed class PSValue : IDisposable
{
    internal PSValue(PSValueHandle handle)
    {
        Handle = handle;
        Native.Check(NativeMethods.rsess_psvalue_kind(handle, out PSValueKind kind));
        Kind = kind;
    }

    internal PSValueHandle Handle { get; }

    /// <summary>The value's kind.</summary>
    public PSValueKind Kind { get; }

    /// <summary>A value from a .NET value: null, string, char, bool, int, long, double or float (as a
    /// double), a SecureString (as <see cref="FromSecureString"/>), or a <see cref="PSValue"/> (copied).</summary>
    /// <param name="value">The value.</param>
    /// <returns>A new value; dispose it when done.</returns>
    /// <exception cref="ArgumentException">Another type: pass it as CLIXML with <see cref="FromClixml"/>.</exception>
    public static PSValue From(object? value)
    {
        PSValueHandle h;
        IntPtr err = IntPtr.Zero;
        ResultCode rc = value switch
        {
            null => NativeMethods.rsess_psvalue_new_null(out h),
            string s => NativeMethods.rsess_psvalue_new_string(s, out h, out err),
            char c => NativeMethods.rsess_psvalue_new_string(c.ToString(), out h, out err),
            bool b => NativeMethods.rsess_psvalue_new_bool(b, out h),
            int i => NativeMethods.rsess_psvalue_new_int32(i, out h),
            long l => NativeMethods.rsess_psvalue_new_int64(l, out h),
            double d => NativeMethods.rsess_psvalue_new_double(d, out h),
            float f => NativeMethods.rsess_psvalue_new_double(f, out h),
            System.Security.SecureString ss => NativeSecureString(ss, out h, out err),
            PSValue { Kind: PSValueKind.SecureString } v => CopySecureString(v, out h, out err),
            PSValue v => NativeMethods.rsess_psvalue_from_clixml(v.ToClixml(), out h, out err),
            _ => throw new ArgumentException($"A {value.GetType()} cannot be sent as it is; serialize it to CLIXML and use PSValue.FromClixml.", nameof(value)),
        };
        Native.Check(rc, err);
        return new PSValue(h);
    }

    /// <summary>A SecureString (MS-PSRP 2.2.5.1.24) with the text of <paramref name="secure"/>: the text
    /// is copied into the native value (zeroed when it is freed) through buffers zeroed after the call,
    /// and goes to a server only encrypted with the session's key. Its text and CLIXML do not show it.</summary>
    /// <param name="secure">The SecureString.</param>
    /// <returns>A new value; dispose it when done.</returns>
    public static PSValue FromSecureString(System.Security.SecureString secure)
    {
        ArgumentNullException.ThrowIfNull(secure);
        Native.Check(NativeSecureString(secure, out PSValueHandle h, out IntPtr err), err);
        return new PSValue(h);
    }

    // A SecureString's CLIXML does not carry its text: it is copied through a SecureString.
    private static ResultCode CopySecureString(PSValue v, out PSValueHandle h, out IntPtr err)
    {
        using System.Security.SecureString text = v.ToSecureString();
        return NativeSecureString(text, out h, out err);
    }

    private static unsafe ResultCode NativeSecureString(System.Security.SecureString secure, out PSValueHandle h, out IntPtr err)
    {
        IntPtr chars = System.Runtime.InteropServices.Marshal.SecureStringToGlobalAllocUnicode(secure);
        int length = secure.Length;
        int size = System.Text.Encoding.UTF8.GetMaxByteCount(length) + 1;
        byte* utf8 = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)size);
        try
        {
            int written = System.Text.Encoding.UTF8.GetBytes((char*)chars, length, utf8, size - 1);
            utf8[written] = 0;
            return NativeMethods.rsess_psvalue_new_securestring(utf8, out h, out err);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Clear(utf8, (nuint)size);
            System.Runtime.InteropServices.NativeMemory.Free(utf8);
            System.Runtime.InteropServices.Marshal.ZeroFreeGlobalAllocUnicode(chars);
        }
    }

    /// <summary>The text of a SecureString value (<see cref="PSValueKind.SecureString"/>): one made with
    /// <see cref="FromSecureString"/>, or one a server sent, decrypted with the session key; through
    /// native buffers zeroed after the copy.</summary>
    /// <returns>A new read-only SecureString; dispose it when done.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for another kind; InvalidState for one
    /// its session could not decrypt.</exception>
    public unsafe System.Security.SecureString ToSecureString()
    {
        Native.Check(NativeMethods.rsess_psvalue_securestring_text(Handle, out IntPtr text, out IntPtr err), err);
        char* chars = null;
        int count = 0;
        try
        {
            int bytes = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)text).Length;
            count = System.Text.Encoding.UTF8.GetCharCount((byte*)text, bytes);
            chars = (char*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(count, 1) * sizeof(char));
            System.Text.Encoding.UTF8.GetChars((byte*)text, bytes, chars, count);
            var secure = new System.Security.SecureString(chars, count);
            secure.MakeReadOnly();
            return secure;
        }
        finally
        {
            if (chars != null)
            {
                System.Runtime.InteropServices.NativeMemory.Clear(chars, (nuint)count * sizeof(char));
                System.Runtime.InteropServices.NativeMemory.Free(chars);
            }
            NativeMethods.rsess_string_free(text); // zeroes it
        }
    }

    /// <summary>A value read from CLIXML: one element, or PowerShell's <c>&lt;Objs&gt;</c> document (as
    /// <c>PSSerializer.Serialize</c> writes it) holding one value.</summary>
    /// <param name="clixml">The CLIXML text.</param>
    /// <returns>A new value; dispose it when done.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for text that is not CLIXML.</exception>
    public static PSValue FromClixml(string clixml)
    {
        Native.Check(NativeMethods.rsess_psvalue_from_clixml(clixml, out PSValueHandle h, out IntPtr err), err);
        return new PSValue(h);
    }

    /// <summary>The value as text, as PowerShell turns it into a string (numbers in invariant form,
    /// <c>True</c>/<c>False</c>, an object's ToString; null as ""). A SecureString gives its type name only.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Native.ReadString(NativeMethods.rsess_psvalue_text(Handle, out IntPtr t), t);

    /// <summary>The value's CLIXML (one element), which PowerShell's <c>PSSerializer.Deserialize</c> reads.</summary>
    /// <returns>The CLIXML text.</returns>
    public string ToClixml() => Native.ReadString(NativeMethods.rsess_psvalue_clixml(Handle, out IntPtr t), t);

    /// <summary>An integer value.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for another kind.</exception>
    public long AsInt64()
    {
        Native.Check(NativeMethods.rsess_psvalue_int64(Handle, out long v));
        return v;
    }

    /// <summary>A floating-point value (an integer is converted too).</summary>
    /// <returns>The value.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for another kind.</exception>
    public double AsDouble()
    {
        Native.Check(NativeMethods.rsess_psvalue_double(Handle, out double v));
        return v;
    }

    /// <summary>A Boolean value.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for another kind.</exception>
    public bool AsBoolean()
    {
        Native.Check(NativeMethods.rsess_psvalue_bool(Handle, out bool v));
        return v;
    }

    /// <summary>A DateTime value with the offset it was sent with, to the microsecond.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="RemoteSessionsException">InvalidArgument for another kind.</exception>
    public DateTimeOffset AsDateTimeOffset()
    {
        Native.Check(NativeMethods.rsess_psvalue_datetime(Handle, out long micros, out short offset));
        return DateTimeOffset.UnixEpoch.AddTicks(micros * 10).ToOffset(TimeSpan.FromMinutes(offset));
    }

    /// <summary>A property of an object value by name (case-insensitive; note properties first).</summary>
    /// <param name="name">The property's name.</param>
    /// <returns>A new value, or null when there is no such property.</returns>
    public PSValue? Property(string name)
    {
        ResultCode rc = NativeMethods.rsess_psvalue_property(Handle, name, out PSValueHandle h, out IntPtr err);
        if (rc == ResultCode.NotFound)
        {
            NativeMethods.rsess_error_free(err);
            h.Dispose();
            return null;
        }
        Native.Check(rc, err);
        return new PSValue(h);
    }

    /// <summary>The text of a record of <paramref name="stream"/>: a warning's, verbose or debug
    /// message, an information record's data, a progress record's activity and status, an error
    /// record's message; for <see cref="PSStream.Output"/> the value's text.</summary>
    /// <param name="stream">The stream the record came from.</param>
    /// <returns>The text.</returns>
    public string RecordText(PSStream stream) => Native.ReadString(NativeMethods.rsess_psvalue_record_text(Handle, (uint)stream, out IntPtr t), t);

    /// <summary>An error record's FullyQualifiedErrorId (e.g. <c>CommandNotFoundException</c>); empty
    /// for a value that is not an error record.</summary>
    public string ErrorId => Native.ReadString(NativeMethods.rsess_psvalue_error_id(Handle, out IntPtr t), t);

    /// <summary>An error record's category as .NET's <c>ErrorCategory</c> number (e.g. 13 ObjectNotFound).</summary>
    public int ErrorCategory
    {
        get
        {
            Native.Check(NativeMethods.rsess_psvalue_error_category(Handle, out int c));
            return c;
        }
    }

    /// <summary>An error record's target object as text (empty when none).</summary>
    public string ErrorTarget => Native.ReadString(NativeMethods.rsess_psvalue_error_target(Handle, out IntPtr t), t);

    /// <summary>Frees the native value.</summary>
    public void Dispose() => Handle.Dispose();
}
