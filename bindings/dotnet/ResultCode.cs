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
    AccessDenied = 13,
    ConnectionFailed = 14,
    TlsFailed = 15,
    BadReply = 16,
    Fault = 17,
    Cancelled = 18,
    AlreadyExists = 19,
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
