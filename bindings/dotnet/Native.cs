using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RemoteSessions.Native;

/// <summary>Loading the native library, and the small helpers every call uses.</summary>
public static class Native
{
    /// <summary>Environment variable naming the native library file to load instead of the bundled one.</summary>
    public const string LibraryPathVariable = "RSESS_NATIVE_LIBRARY";

    [ModuleInitializer]
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);

    // Order: $RSESS_NATIVE_LIBRARY, libremote_sessions.so next to this assembly, the default probe.
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != NativeMethods.Library) return IntPtr.Zero;
        string? explicitPath = Environment.GetEnvironmentVariable(LibraryPathVariable);
        if (!string.IsNullOrEmpty(explicitPath)) return NativeLibrary.Load(explicitPath);
        string dir = Path.GetDirectoryName(assembly.Location) ?? AppContext.BaseDirectory;
        string fileName = OperatingSystem.IsMacOS() ? "libremote_sessions.dylib"
            : OperatingSystem.IsWindows() ? "remote_sessions.dll" : "libremote_sessions.so";
        string beside = Path.Combine(dir, fileName);
        if (File.Exists(beside)) return NativeLibrary.Load(beside);
        return NativeLibrary.TryLoad(name, assembly, path, out IntPtr h) ? h : IntPtr.Zero;
    }

    /// <summary>The native library's version string, e.g. <c>0.1.0</c>.</summary>
    public static string Version => Marshal.PtrToStringUTF8(NativeMethods.rsess_version()) ?? "";

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

    /// <summary>Runs <paramref name="call"/> with <paramref name="values"/> as an array of UTF-8 C strings.</summary>
    internal static T WithUtf8Array<T>(IReadOnlyList<string> values, Func<IntPtr[], T> call)
    {
        var pointers = new IntPtr[values.Count];
        try
        {
            for (int i = 0; i < pointers.Length; i++) pointers[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
            return call(pointers);
        }
        finally
        {
            foreach (IntPtr p in pointers) Marshal.FreeCoTaskMem(p);
        }
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
