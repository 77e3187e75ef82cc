namespace RemoteSessions.Native;

/// <summary>The C ABI's <c>rsess_result</c> codes (bindings/c/remote_sessions.h); numbers are stable.</summary>
public enum ResultCode : uint
{
    /// <summary>Success (never carried by an exception).</summary>
    Ok = 0,
    /// <summary>A required argument was null.</summary>
    NullArgument = 1,
    /// <summary>A handle was freed, never made, or is of another kind.</summary>
    InvalidHandle = 2,
    /// <summary>An argument is malformed: bad UTF-8, an unknown enum value, an index out of range, a bad option.</summary>
    InvalidArgument = 3,
    /// <summary>No such session or instance (CIM status 6), or no such program for a transport.</summary>
    NotFound = 4,
    /// <summary>The namespace does not exist (CIM status 3).</summary>
    InvalidNamespace = 5,
    /// <summary>The class does not exist (CIM status 5).</summary>
    InvalidClass = 6,
    /// <summary>The query is not valid in its dialect (CIM status 15).</summary>
    InvalidQuery = 7,
    /// <summary>Not available here: DCOM to another computer, a query dialect or authentication mechanism
    /// not supported (CIM status 7).</summary>
    NotSupported = 8,
    /// <summary>Reading the machine's state (the local provider) or starting a process failed.</summary>
    Io = 9,
    /// <summary>The CIM session was removed from its scope.</summary>
    SessionRemoved = 10,
    /// <summary>Nothing arrived within the time allowed (the session's operation timeout, or the wait asked for).</summary>
    Timeout = 11,
    /// <summary>The PSRP transport is gone (the server process or connection ended).</summary>
    TransportBroken = 12,
    /// <summary>The server refused the credentials or the operation (HTTP 401/403, CIM status 2).</summary>
    AccessDenied = 13,
    /// <summary>No connection could be made or kept (refused, unreachable, closed mid-reply).</summary>
    ConnectionFailed = 14,
    /// <summary>TLS failed: untrusted certificate, wrong host name, broken handshake.</summary>
    TlsFailed = 15,
    /// <summary>The reply is not valid WS-Management (not XML, wrong content type, unexpected status).</summary>
    BadReply = 16,
    /// <summary>A WS-Management fault no more specific code describes.</summary>
    Fault = 17,
    /// <summary>The operation was cancelled through its cancel handle. The C# API throws
    /// <see cref="OperationCanceledException"/> instead, with this failure as its inner exception.</summary>
    Cancelled = 18,
    /// <summary>The CIM object already exists (CIM status 11).</summary>
    AlreadyExists = 19,
    /// <summary>The class defines no such method (CIM status 17).</summary>
    MethodNotFound = 20,
    /// <summary>The object is not in a state that allows the call (e.g. a runspace pool that is not open).</summary>
    InvalidState = 21,
    /// <summary>A panic inside the library was caught (a bug); the library is still usable.</summary>
    Panic = 99,
}

/// <summary>A failed call into the native library: the result code and the library's message (which names
/// the computer, and for a WS-Management fault its code and CIM status).</summary>
public sealed class RemoteSessionsException : Exception
{
    /// <summary>Makes an exception for <paramref name="code"/> with the native <paramref name="message"/>.</summary>
    /// <param name="code">What went wrong.</param>
    /// <param name="message">The message shown to users.</param>
    public RemoteSessionsException(ResultCode code, string message) : base(message) => Code = code;

    /// <summary>What went wrong, as the C ABI reports it.</summary>
    public ResultCode Code { get; }

    /// <summary>The CIM status code the server reported (DSP0004 Annex: 2 = access denied, 3 = invalid
    /// namespace, 5 = invalid class, 6 = not found, …), or null.</summary>
    public uint? CimStatus { get; init; }

    /// <summary>The WS-Management fault code of the server's SOAP fault (its subcode when it has one, e.g.
    /// <c>w:AccessDenied</c>; DSP0226 §14), or null.</summary>
    public string? FaultCode { get; init; }

    /// <summary>The HTTP status of the reply that failed (e.g. 401), or null.</summary>
    public ushort? HttpStatus { get; init; }
}
