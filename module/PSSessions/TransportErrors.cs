using System.Management.Automation.Remoting;
using RemoteSessions.Native;

namespace RemoteSessions.PSSessions;

/// <summary>
/// Windows' transport error codes for the core's failures, and the error ids made of them. The engine's
/// WS-Man transport puts the WinRM error code in <see cref="PSRemotingTransportException.ErrorCode"/>, and
/// its remoting cmdlets put that code's name before their own id (<c>AccessDenied,PSSessionOpenFailed</c>).
/// Only refused credentials get a code here; other failures keep 0 and the cmdlet's id alone.
/// </summary>
internal static class TransportErrors
{
    /// <summary>ERROR_ACCESS_DENIED: the server refused the credentials (HTTP 401).</summary>
    internal const int AccessDenied = 5;

    /// <summary>What Windows' WinRM client says of refused credentials.</summary>
    internal const string AccessDeniedMessage = "Access is denied. For more information, see the about_Remote_Troubleshooting Help topic.";

    /// <summary>The Windows error code of a core failure: <see cref="AccessDenied"/> for refused
    /// credentials (not for HTTP 403, which Windows reports otherwise), else 0.</summary>
    internal static int CodeOf(RemoteSessionsException e) =>
        e.Code == ResultCode.AccessDenied && e.HttpStatus != 403 ? AccessDenied : 0;

    /// <summary>The message Windows shows for a core failure: its own words for refused credentials,
    /// else the core's message.</summary>
    internal static string MessageOf(RemoteSessionsException e) =>
        CodeOf(e) == AccessDenied ? AccessDeniedMessage : e.Message;

    /// <summary>
    /// <paramref name="id"/> as the engine's remoting cmdlets write it for <paramref name="e"/>: with
    /// <c>AccessDenied,</c> before it when the transport refused the credentials, else unchanged.
    /// </summary>
    internal static string ErrorId(Exception e, string id) =>
        e is PSRemotingTransportException { ErrorCode: AccessDenied } ? "AccessDenied," + id : id;
}
