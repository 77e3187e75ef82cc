using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Management.Automation.Remoting.Client;
using System.Management.Automation.Runspaces;
using RemoteSessions.Native;

namespace RemoteSessions.PSSessions;

/// <summary>
/// Connection to a PowerShell server over SSH: the Rust core runs the system <c>ssh</c> client for the
/// server's <c>powershell</c> subsystem and moves the OutOfProc packets (spec/cmdlet-behaviour.md §2.4).
/// </summary>
public sealed class SshConnectionInfo : RunspaceConnectionInfo
{
    /// <param name="hostName">Host name or address; <c>user@host:port</c> also works.</param>
    /// <param name="userName">User, unless the host name names one.</param>
    /// <param name="port">Port; 0 = ssh's default.</param>
    /// <param name="keyFilePath">Private key file, or null for ssh's default keys.</param>
    /// <param name="subsystem">Server subsystem; null = <c>powershell</c>.</param>
    /// <param name="options">ssh <c>-o</c> options as <c>key=value</c>.</param>
    /// <param name="connectingTimeoutMs">How long to wait for the server; -1 = no limit.</param>
    public SshConnectionInfo(string hostName, string? userName, int port, string? keyFilePath, string? subsystem,
        IReadOnlyList<string> options, int connectingTimeoutMs)
    {
        HostName = hostName;
        UserName = userName;
        Port = port;
        KeyFilePath = keyFilePath;
        Subsystem = subsystem;
        Options = options.ToArray();
        ConnectingTimeout = connectingTimeoutMs;
        ComputerName = hostName.Contains('@') ? hostName[(hostName.LastIndexOf('@') + 1)..] : hostName;
    }

    public string HostName { get; }
    public string? UserName { get; }
    public int Port { get; }
    public string? KeyFilePath { get; }
    public string? Subsystem { get; }
    public IReadOnlyList<string> Options { get; }
    /// <summary>Milliseconds to wait for the server's first packet; -1 = no limit.</summary>
    public int ConnectingTimeout { get; }

    /// <summary>Told the transport once it started, so the session can be registered with it.</summary>
    internal Action<PsrpTransport>? TransportStarted { get; set; }

    public override string ComputerName { get; set; }
    public override PSCredential? Credential { get; set; }
    public override AuthenticationMechanism AuthenticationMechanism { get; set; }
    public override string CertificateThumbprint { get; set; } = "";

    public override RunspaceConnectionInfo Clone() =>
        new SshConnectionInfo(HostName, UserName, Port, KeyFilePath, Subsystem, Options, ConnectingTimeout)
        {
            ComputerName = ComputerName,
            TransportStarted = TransportStarted,
        };

    public override BaseClientSessionTransportManager CreateClientSessionTransportManager(Guid instanceId, string sessionName, PSRemotingCryptoHelper cryptoHelper) =>
        new PacketTransportManager(instanceId, cryptoHelper,
            () =>
            {
                PsrpTransport transport = PsrpTransport.StartSsh(HostName, UserName, Port, KeyFilePath, Subsystem, Options);
                TransportStarted?.Invoke(transport);
                return transport;
            },
            "The SSH transport process has abruptly terminated causing this remote session to break.",
            ConnectingTimeout);
}
