// The C# library's session and option types share their names with the module's own PowerShell-facing
// types (RemoteSessions.CimSession, RemoteSessions.CimSessionOptions) and with the engine's PSSession;
// the module calls the library's by these names.
global using NativeCimSession = RemoteSessions.Native.CimSession;
global using NativeCimSessionOptions = RemoteSessions.Native.CimSessionOptions;
global using NativePSSession = RemoteSessions.Native.PSSession;
