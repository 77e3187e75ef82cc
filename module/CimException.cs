using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions;

/// <summary>A CIM failure as the cmdlets report it, with the native result code and detail.</summary>
public sealed class CimException : Exception
{
    public CimException(string message, ResultCode code = ResultCode.Ok, string? detail = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        Detail = detail;
    }

    /// <summary>The native result code (Ok when the failure was decided in PowerShell).</summary>
    public ResultCode Code { get; }

    /// <summary>The native library's own message, e.g. which class or which token was wrong.</summary>
    public string? Detail { get; }
}

/// <summary>
/// Turns native failures into ErrorRecords the way CimCmdlets does (spec/cmdlet-behaviour.md §1.10):
/// errorId <c>HRESULT 0x8004xxxx</c> of the matching WMI error, its category and Windows' message, the
/// native detail in ErrorDetails so nothing is lost.
/// </summary>
internal static class CimErrors
{
    /// <summary>
    /// The ErrorRecord for a native failure. With <paramref name="computer"/> (a WS-Management session's
    /// computer) it is a RemotingErrorRecord whose OriginInfo names that computer, so the error shows
    /// PSComputerName as Windows' CIM errors do (spec §1.10).
    /// </summary>
    internal static ErrorRecord FromNative(RemoteSessionsException e, object? target, string? computer = null)
    {
        ErrorRecord record = Local(e, target);
        return computer is null ? record : new System.Management.Automation.Runspaces.RemotingErrorRecord(record, new System.Management.Automation.Remoting.OriginInfo(computer, Guid.Empty));
    }

    private static ErrorRecord Local(RemoteSessionsException e, object? target)
    {
        (string id, ErrorCategory category, string message) = e.Code switch
        {
            ResultCode.InvalidClass => ("HRESULT 0x80041010", ErrorCategory.MetadataError, "Invalid class "),
            ResultCode.InvalidNamespace => ("HRESULT 0x8004100e", ErrorCategory.MetadataError, "Invalid namespace "),
            ResultCode.InvalidQuery => ("HRESULT 0x80041017", ErrorCategory.InvalidArgument, "Invalid query "),
            ResultCode.NotFound => ("HRESULT 0x80041002", ErrorCategory.ObjectNotFound, "Not found "),
            ResultCode.NotSupported => ("HRESULT 0x8004100c", ErrorCategory.NotImplemented, "Not supported "),
            ResultCode.InvalidArgument => ("HRESULT 0x80041008", ErrorCategory.InvalidArgument, "Invalid parameter "),
            // Windows' category for MI_RESULT_FAILED is NotSpecified (CimWriteError.cs).
            ResultCode.Io => ("HRESULT 0x80041001", ErrorCategory.NotSpecified, "Generic failure "),
            ResultCode.SessionRemoved => ("CimSessionRemoved", ErrorCategory.InvalidOperation, "The CIM session has been removed."),
            // A WMI refusal (CIM status 2) is WBEM_E_ACCESS_DENIED; HTTP 401/403 is the Win32 access denied.
            ResultCode.AccessDenied when e.CimStatus == 2 => ("HRESULT 0x80041003", ErrorCategory.PermissionDenied, "Access denied "),
            ResultCode.AccessDenied => ("HRESULT 0x80070005", ErrorCategory.PermissionDenied, "Access is denied. "),
            ResultCode.ConnectionFailed => ("HRESULT 0x80338012", ErrorCategory.ConnectionError, "The client cannot connect to the destination specified in the request. "),
            ResultCode.Timeout => ("HRESULT 0x80338029", ErrorCategory.OperationTimeout, "The WS-Management service cannot complete the operation within the time specified in OperationTimeout. "),
            ResultCode.TlsFailed => ("CimTlsFailed", ErrorCategory.SecurityError, e.Message),
            ResultCode.BadReply => ("CimBadReply", ErrorCategory.ProtocolError, e.Message),
            ResultCode.Fault => ("CimFault", ErrorCategory.InvalidOperation, e.Message),
            ResultCode.Cancelled => ("CimOperationCancelled", ErrorCategory.OperationStopped, "The operation was cancelled."),
            ResultCode.AlreadyExists => ("HRESULT 0x80041019", ErrorCategory.ResourceExists, "Already exists "),
            // WMI answers a method the class does not have with WBEM_E_INVALID_METHOD (0x8004102E).
            ResultCode.MethodNotFound => ("HRESULT 0x8004102e", ErrorCategory.MetadataError, "Invalid method "),
            ResultCode.InvalidState => ("CimInvalidState", ErrorCategory.InvalidOperation, e.Message),
            _ => ("CimCmdlet_" + e.Code, ErrorCategory.InvalidResult, e.Message),
        };
        var record = new ErrorRecord(new CimException(message, e.Code, e.Message, e), id, category, target);
        // The exception keeps Windows' exact text; what is shown adds the native detail (e.g. the class name).
        if (e.Message != message) record.ErrorDetails = new ErrorDetails(e.Message);
        return record;
    }

    /// <summary>Get-/Remove-CimSession's miss (§1.5): empty errorId, so the FQID is the cmdlet's type name.</summary>
    internal static ErrorRecord SessionNotFound(string property, object value) =>
        new(new CimException($"Could not find CimSession with the given {property} = {value}"), "", ErrorCategory.ObjectNotFound, null);
}
