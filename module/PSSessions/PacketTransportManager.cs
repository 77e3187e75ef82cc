using System.Management.Automation.Internal;
using System.Management.Automation.Remoting;
using System.Management.Automation.Remoting.Client;
using System.Text;
using RemoteSessions.Native;

namespace RemoteSessions.PSSessions;

/// <summary>
/// The engine's side of a Rust transport: packets the engine writes go to <see cref="PsrpTransport.Send"/>,
/// a reader thread hands each received packet to the engine. When the server goes away without being
/// asked to, the engine is told, so the session becomes Broken with the server's own explanation.
/// </summary>
internal sealed class PacketTransportManager : ClientSessionTransportManagerBase
{
    private readonly Func<PsrpTransport> _start;
    private readonly string _endedMessage;
    private readonly int _connectingTimeoutMs;
    private readonly Func<string, bool, string> _describeFailure;
    private PsrpTransport? _transport;
    private volatile bool _closing;

    /// <param name="runspaceId">The runspace pool's id (the engine's base class keys its state by it).</param>
    /// <param name="cryptoHelper">The engine's session-key helper, passed through to the base class.</param>
    /// <param name="start">Starts the transport (runs on the engine's thread in CreateAsync).</param>
    /// <param name="endedMessage">Says that the server went away; the server's stderr is appended.</param>
    /// <param name="connectingTimeoutMs">How long to wait for the server's first packet; -1 = no limit.</param>
    /// <param name="describeFailure">Words a transport failure's message for the user, told whether the
    /// server had answered before; null: "Receiving from the PowerShell server failed: …".</param>
    internal PacketTransportManager(Guid runspaceId, PSRemotingCryptoHelper cryptoHelper, Func<PsrpTransport> start, string endedMessage, int connectingTimeoutMs = -1,
        Func<string, bool, string>? describeFailure = null)
        : base(runspaceId, cryptoHelper)
    {
        _start = start;
        _endedMessage = endedMessage;
        _connectingTimeoutMs = connectingTimeoutMs;
        _describeFailure = describeFailure ?? ((m, _) => $"Receiving from the PowerShell server failed: {m}");
    }

    public override void CreateAsync()
    {
        try
        {
            _transport = _start();
        }
        catch (Exception e) when (e is RemoteSessionsException or DllNotFoundException or EntryPointNotFoundException)
        {
            Fail(e.Message, TransportMethodEnum.CreateShellEx);
            return;
        }
        SetMessageWriter(new PacketWriter(_transport));
        new Thread(ReadPackets) { IsBackground = true, Name = "rsess-psrp-receive" }.Start(_transport);
        // The engine queued its first packets (session capability, runspace pool init) before the
        // transport existed; start sending them.
        SendOneItem();
    }

    // The reader thread. CleanupConnection may close and dispose the transport while this thread still
    // reads or reports: a disposed transport means the session is being torn down, so the thread ends
    // quietly instead of letting the exception end the process.
    private void ReadPackets(object? state)
    {
        try
        {
            ReadUntilEnd((PsrpTransport)state!);
        }
        catch (ObjectDisposedException) when (_closing)
        {
        }
    }

    private void ReadUntilEnd(PsrpTransport transport)
    {
        bool connected = false;
        try
        {
            while (transport.Receive(connected ? -1 : _connectingTimeoutMs) is { } packet)
            {
                connected = true;
                HandleOutputDataReceived(packet);
            }
        }
        catch (RemoteSessionsException e) when (e.Code == ResultCode.Timeout)
        {
            transport.Close();
            Fail($"SSH connection attempt failed after time out: {_connectingTimeoutMs / 1000.0:0.###} seconds." + StderrOf(transport), TransportMethodEnum.CloseShellOperationEx);
            return;
        }
        catch (RemoteSessionsException e)
        {
            // Refused credentials carry Windows' error code (5) and words, as the engine's WS-Man transport reports them.
            if (!_closing) Fail(_describeFailure(TransportErrors.MessageOf(e), connected), TransportMethodEnum.CloseShellOperationEx, TransportErrors.CodeOf(e));
            return;
        }
        if (!_closing)
            Fail(_endedMessage + StderrOf(transport), TransportMethodEnum.CloseShellOperationEx);
    }

    private static string StderrOf(PsrpTransport transport)
    {
        string stderr = transport.StandardError.Trim();
        return stderr.Length > 0 ? " " + stderr : "";
    }

    // The engine fails an opening session and breaks an open one on an error reported for
    // CloseShellOperationEx, as its own out-of-process transport does when the server exits; CreateShellEx
    // is only heard while CreateAsync runs. errorCode is the exception's ErrorCode (Windows' transport
    // error code, 0 for none), from which the cmdlets' error ids get their prefix (TransportErrors).
    private void Fail(string message, TransportMethodEnum method, int errorCode = 0) =>
        RaiseErrorHandler(new TransportErrorOccuredEventArgs(new PSRemotingTransportException(message) { ErrorCode = errorCode }, method));

    protected override void CleanupConnection()
    {
        _closing = true;
        _transport?.Close();
        _transport?.Dispose();
    }

    /// <summary>Turns the engine's line writes into packets.</summary>
    private sealed class PacketWriter(PsrpTransport transport) : TextWriter
    {
        private readonly StringBuilder _partial = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void WriteLine(string? value)
        {
            lock (_partial)
            {
                _partial.Append(value);
                SendPartial();
            }
        }

        public override void Write(char value)
        {
            lock (_partial)
            {
                if (value == '\n') SendPartial();
                else if (value != '\r') _partial.Append(value);
            }
        }

        public override void Write(string? value)
        {
            if (value is null) return;
            foreach (char c in value) Write(c);
        }

        private void SendPartial()
        {
            string packet = _partial.ToString();
            _partial.Clear();
            try
            {
                transport.Send(packet);
            }
            catch (RemoteSessionsException e) when (e.Code is ResultCode.TransportBroken or ResultCode.AccessDenied)
            {
                // The server is gone or refused the credentials; the reader sees the end of its output
                // and reports why, with what the server said, which is clearer than this write's failure.
            }
            catch (ObjectDisposedException)
            {
                // The session was cleaned up while the engine still wrote; there is nobody to send to.
            }
        }
    }
}
