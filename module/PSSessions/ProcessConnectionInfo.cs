using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Management.Automation.Remoting.Client;
using System.Management.Automation.Runspaces;
using RemoteSessions.Native;

namespace RemoteSessions.PSSessions;

/// <summary>
/// Connection to a PowerShell server in a local child process (`pwsh -s` or another PSRP server
/// executable), through PowerShell's public custom-transport API (spec/cmdlet-behaviour.md §0): the
/// engine speaks PSRP, the Rust core runs the process and moves its OutOfProc packets.
/// </summary>
public sealed class ProcessConnectionInfo : RunspaceConnectionInfo
{
    /// <param name="program">The server executable: a path, or a name looked up on PATH.</param>
    /// <param name="arguments">Its arguments, e.g. <c>-s -NoLogo -NoProfile</c> for pwsh.</param>
    public ProcessConnectionInfo(string program, IReadOnlyList<string> arguments)
    {
        Program = program;
        Arguments = arguments.ToArray();
    }

    public string Program { get; }
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Told the transport once it started, so the session can be registered with it.</summary>
    internal Action<PsrpTransport>? TransportStarted { get; set; }

    public override string ComputerName { get; set; } = "localhost";
    public override PSCredential? Credential { get; set; }
    public override AuthenticationMechanism AuthenticationMechanism { get; set; }
    public override string CertificateThumbprint { get; set; } = "";

    public override RunspaceConnectionInfo Clone() => new ProcessConnectionInfo(Program, Arguments)
    {
        ComputerName = ComputerName,
        Credential = Credential,
        AuthenticationMechanism = AuthenticationMechanism,
        CertificateThumbprint = CertificateThumbprint,
        TransportStarted = TransportStarted,
    };

    public override BaseClientSessionTransportManager CreateClientSessionTransportManager(Guid instanceId, string sessionName, PSRemotingCryptoHelper cryptoHelper) =>
        new PacketTransportManager(instanceId, cryptoHelper, () => Started(PsrpTransport.StartProcess(Program, Arguments)),
            $"The PowerShell server process '{Program}' ended, so the session is broken.");

    private PsrpTransport Started(PsrpTransport transport)
    {
        TransportStarted?.Invoke(transport);
        return transport;
    }
}
