namespace RemoteSessions.Native;

/// <summary>The C ABI's <c>rsess_result</c> codes (bindings/c/remote_sessions.h); numbers are stable.</summary>
public enum ResultCode : uint
{
    Ok = 0,
    NullArgument = 1,
    InvalidHandle = 2,
    InvalidArgument = 3,
    NotFound = 4,
    InvalidNamespace = 5,
    InvalidClass = 6,
    InvalidQuery = 7,
    NotSupported = 8,
    Io = 9,
    SessionRemoved = 10,
    Timeout = 11,
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
    /// <summary>The operation was cancelled through its cancel handle; the C# API throws
    /// <see cref="OperationCanceledException"/> instead, with this failure as its inner exception.</summary>
    Cancelled = 18,
    /// <summary>The CIM object already exists (CIM status 11).</summary>
    AlreadyExists = 19,
    /// <summary>The class defines no such method (CIM status 17).</summary>
    MethodNotFound = 20,
    Panic = 99,
}

/// <summary>A failed call into the native library: the result code and the library's message.</summary>
public sealed class RemoteSessionsException : Exception
{
    /// <summary>Makes an exception for <paramref name="code"/> with the native <paramref name="message"/>.</summary>
    public RemoteSessionsException(ResultCode code, string message) : base(message) => Code = code;

    /// <summary>What went wrong, as the C ABI reports it.</summary>
    public ResultCode Code { get; }
}
