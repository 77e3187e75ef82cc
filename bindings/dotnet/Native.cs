using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RemoteSessions.Native;

/// <summary>The native library <c>remote_sessions</c> (the Rust core behind this binding): which file is
/// loaded, and its version.</summary>
public static class RemoteSessionsLibrary
{
    /// <summary>Name of the environment variable (<c>RSESS_NATIVE_LIBRARY</c>) that names the native library
    /// file to load instead of the one next to this assembly. Read once, before the first native call.</summary>
    public const string PathEnvironmentVariable = "RSESS_NATIVE_LIBRARY";

    /// <summary>The native library's version string, e.g. <c>0.1.0</c>.</summary>
    /// <exception cref="DllNotFoundException">The native library cannot be loaded.</exception>
    public static string Version => Marshal.PtrToStringUTF8(NativeMethods.rsess_version()) ?? "";

    [ModuleInitializer]
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(RemoteSessionsLibrary).Assembly, Resolve);

    // Order: $RSESS_NATIVE_LIBRARY, libremote_sessions.so next to this assembly, the default probe.
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != NativeMethods.Library) return IntPtr.Zero;
        string? explicitPath = Environment.GetEnvironmentVariable(PathEnvironmentVariable);
        if (!string.IsNullOrEmpty(explicitPath)) return NativeLibrary.Load(explicitPath);
        string dir = Path.GetDirectoryName(assembly.Location) ?? AppContext.BaseDirectory;
        string fileName = OperatingSystem.IsMacOS() ? "libremote_sessions.dylib"
            : OperatingSystem.IsWindows() ? "remote_sessions.dll" : "libremote_sessions.so";
        string beside = Path.Combine(dir, fileName);
        if (File.Exists(beside)) return NativeLibrary.Load(beside);
        return NativeLibrary.TryLoad(name, assembly, path, out IntPtr h) ? h : IntPtr.Zero;
    }
}

/// <summary>The small helpers every native call uses.</summary>
internal static class Native
{
    /// <summary>Copies an owned UTF-8 string from the library and frees it; <see cref="IntPtr.Zero"/> gives null.</summary>
    internal static string? TakeString(IntPtr s)
    {
        if (s == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(s); }
        finally { NativeMethods.rsess_string_free(s); }
    }

    /// <summary>Throws for a failed call; <paramref name="error"/> (an owned <c>rsess_error*</c> or zero) is always freed.</summary>
    internal static void Check(ResultCode code, IntPtr error = default)
    {
        try
        {
            if (code == ResultCode.Ok) return;
            string? message = null, faultCode = null;
            uint cimStatus = 0;
            ushort httpStatus = 0;
            if (error != IntPtr.Zero)
            {
                if (NativeMethods.rsess_error_message(error, out IntPtr m) == ResultCode.Ok) message = TakeString(m);
                if (NativeMethods.rsess_error_fault_code(error, out IntPtr f) == ResultCode.Ok) faultCode = TakeString(f);
                NativeMethods.rsess_error_cim_status(error, out cimStatus);
                NativeMethods.rsess_error_http_status(error, out httpStatus);
            }
            throw new RemoteSessionsException(code, message ?? DefaultMessage(code))
            {
                CimStatus = cimStatus == 0 ? null : cimStatus,
                FaultCode = faultCode,
                HttpStatus = httpStatus == 0 ? null : httpStatus,
            };
        }
        finally
        {
            if (error != IntPtr.Zero) NativeMethods.rsess_error_free(error);
        }
    }

    /// <summary>Reads an owned string output of a call that succeeded.</summary>
    internal static string ReadString(ResultCode code, IntPtr value)
    {
        Check(code);
        return TakeString(value) ?? "";
    }

    internal static IReadOnlyList<string> ReadStringList(StringListHandle list)
    {
        Check(NativeMethods.rsess_string_list_len(list, out nuint n));
        var items = new string[(int)n];
        for (nuint i = 0; i < n; i++)
        {
            Check(NativeMethods.rsess_string_list_get(list, i, out IntPtr s));
            items[(int)i] = TakeString(s) ?? "";
        }
        return items;
    }

    private static string DefaultMessage(ResultCode code) => code switch
    {
        ResultCode.NullArgument => "A required argument was null.",
        ResultCode.InvalidHandle => "The handle is no longer valid.",
        ResultCode.InvalidArgument => "An argument is not valid.",
        ResultCode.NotFound => "Not found.",
        ResultCode.SessionRemoved => "The CIM session has been removed.",
        _ => $"The native call failed with {code}.",
    };
}

/// <summary>Strings as an array of UTF-8 C strings (<c>const char *const *</c>; a null string becomes a
/// NULL pointer) for one native call; Dispose frees them.</summary>
internal sealed class Utf8Strings : IDisposable
{
    internal Utf8Strings(IEnumerable<string?> values) => Pointers = values.Select(v => v is null ? IntPtr.Zero : Marshal.StringToCoTaskMemUTF8(v)).ToArray();

    /// <summary>The C strings, in the order given.</summary>
    internal IntPtr[] Pointers { get; }

    /// <summary>How many strings there are.</summary>
    internal nuint Count => (nuint)Pointers.Length;

    /// <summary>Frees the C strings.</summary>
    public void Dispose()
    {
        foreach (IntPtr p in Pointers) Marshal.FreeCoTaskMem(p);
    }
}

/// <summary>Native handles as an array of raw pointers for one native call (<c>const rsess_x *const *</c>),
/// each kept alive (AddRef) until Dispose.</summary>
internal sealed class BorrowedHandles : IDisposable
{
    private readonly List<SafeHandle> _added = [];

    internal BorrowedHandles(IEnumerable<SafeHandle> handles)
    {
        var pointers = new List<IntPtr>();
        try
        {
            foreach (SafeHandle h in handles)
            {
                bool added = false;
                h.DangerousAddRef(ref added);
                if (added) _added.Add(h);
                pointers.Add(h.DangerousGetHandle());
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Pointers = [.. pointers];
    }

    /// <summary>The raw handles, in the order given.</summary>
    internal IntPtr[] Pointers { get; }

    /// <summary>How many there are.</summary>
    internal nuint Count => (nuint)Pointers.Length;

    /// <summary>Releases the references taken.</summary>
    public void Dispose()
    {
        foreach (SafeHandle h in _added) h.DangerousRelease();
        _added.Clear();
    }
}
