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
    private readonly string _description;
    private PsrpTransport? _transport;
    private volatile bool _closing;

    internal PacketTransportManager(Guid runspaceId, PSRemotingCryptoHelper cryptoHelper, Func<PsrpTransport> start, string description)
        : base(runspaceId, cryptoHelper)
    {
        _start = start;
        _description = description;
    }

    public override void CreateAsync()
    {
        try
        {
            _transport = _start();
        }
        catch (RemoteSessionsException e)
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

    private void ReadPackets(object? state)
    {
        var transport = (PsrpTransport)state!;
        try
        {
            while (transport.Receive() is { } packet) HandleOutputDataReceived(packet);
        }
        catch (RemoteSessionsException e)
        {
            if (!_closing) Fail($"Receiving from the PowerShell server failed: {e.Message}", TransportMethodEnum.CloseShellOperationEx);
            return;
        }
        if (!_closing)
        {
            string stderr = transport.StandardError.Trim();
            Fail($"The PowerShell server process '{_description}' ended, so the session is broken." +
                 (stderr.Length > 0 ? " It said: " + stderr : ""), TransportMethodEnum.CloseShellOperationEx);
        }
    }

    // The engine breaks an open session on an error reported for CloseShellOperationEx (as its own
    // out-of-process transport does when the server exits) and fails an open on CreateShellEx.
    private void Fail(string message, TransportMethodEnum method) =>
        RaiseErrorHandler(new TransportErrorOccuredEventArgs(new PSRemotingTransportException(message), method));

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
            transport.Send(packet);
        }
    }
}
