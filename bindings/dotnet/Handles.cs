using System.Runtime.InteropServices;

namespace RemoteSessions.Native;

/// <summary>
/// Base of every handle: the native value is an opaque nonzero key (0 = none). Freeing goes through the
/// matching <c>rsess_*_free</c>, which tolerates stale keys, so even a double release is harmless.
/// </summary>
internal abstract class NativeHandle : SafeHandle
{
    /// <summary>An empty handle, filled by the marshaller.</summary>
    protected NativeHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;
}

/// <summary>An owner scope (<c>rsess_scope</c>): one per PowerShell runspace.</summary>
internal sealed class ScopeHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_scope_free(handle); return true; }
}

/// <summary>Session options (<c>rsess_session_options</c>).</summary>
internal sealed class SessionOptionsHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_session_options_free(handle); return true; }
}

/// <summary>A reference to a registered CIM session (<c>rsess_cim_session</c>).</summary>
internal sealed class CimSessionHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_cim_session_free(handle); return true; }
}

/// <summary>A lookup result (<c>rsess_cim_session_list</c>).</summary>
internal sealed class CimSessionListHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_cim_session_list_free(handle); return true; }
}

/// <summary>A list of strings (<c>rsess_string_list</c>).</summary>
internal sealed class StringListHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_string_list_free(handle); return true; }
}

/// <summary>An instance iterator (<c>rsess_instance_iter</c>).</summary>
internal sealed class InstanceIterHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_instance_iter_free(handle); return true; }
}

/// <summary>One CIM instance (<c>rsess_instance</c>).</summary>
internal sealed class InstanceHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_instance_free(handle); return true; }
}

/// <summary>A PSRP server process (<c>rsess_transport</c>).</summary>
internal sealed class TransportHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_transport_free(handle); return true; }
}

/// <summary>A reference to a registered PSSession (<c>rsess_pssession</c>).</summary>
internal sealed class PSSessionHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_pssession_free(handle); return true; }
}

/// <summary>A PSSession lookup result (<c>rsess_pssession_list</c>).</summary>
internal sealed class PSSessionListHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_pssession_list_free(handle); return true; }
}

/// <summary>An <c>rsess_credential</c>.</summary>
internal sealed class CredentialHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_credential_free(handle); return true; }
}

/// <summary>An <c>rsess_cancel</c>.</summary>
internal sealed class CancelHandle : NativeHandle
{
    /// <summary>The empty handle (no token) passed to calls made without one; shared and never freed.</summary>
    internal static readonly CancelHandle None = new();

    protected override bool ReleaseHandle() { NativeMethods.rsess_cancel_free(handle); return true; }
}

/// <summary>An <c>rsess_params</c>.</summary>
internal sealed class ParamsHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_params_free(handle); return true; }
}

/// <summary>A class declaration (<c>rsess_class</c>).</summary>
internal sealed class ClassHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_class_free(handle); return true; }
}

/// <summary>A list of class declarations (<c>rsess_class_list</c>).</summary>
internal sealed class ClassListHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_class_list_free(handle); return true; }
}

/// <summary>A value crossing a PowerShell session (<c>rsess_psvalue</c>).</summary>
internal sealed class PSValueHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_psvalue_free(handle); return true; }
}

/// <summary>A pipeline command being built (<c>rsess_pscommand</c>).</summary>
internal sealed class PSCommandHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_pscommand_free(handle); return true; }
}

/// <summary>A pipeline in a session the library opened (<c>rsess_pipeline</c>).</summary>
internal sealed class PipelineHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_pipeline_free(handle); return true; }
}

/// <summary>A list of a server's WinRS shells (<c>rsess_shell_list</c>).</summary>
internal sealed class ShellListHandle : NativeHandle
{
    protected override bool ReleaseHandle() { NativeMethods.rsess_shell_list_free(handle); return true; }
}
