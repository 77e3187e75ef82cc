using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Management.Automation.Remoting;
using System.Management.Automation.Remoting.Client;
using System.Management.Automation.Runspaces;
using RemoteSessions.Native;

namespace RemoteSessions.PSSessions;

/// <summary>
/// Connection to a PowerShell session configuration over WS-Management (WinRM; MS-PSRP 3.1.5.3 over
/// WinRS shells), as New-PSSession -ComputerName / -ConnectionUri make on Windows. The engine speaks
/// PSRP; the Rust core carries its packets in a WinRS shell (Create, Command, Send, Receive, Signal,
/// Delete) over its pooled HTTP(S) transport and authentication.
/// </summary>
public sealed class WinRSConnectionInfo : RunspaceConnectionInfo
{
    /// <summary>The default session configuration, as on Windows.</summary>
    public const string DefaultConfigurationName = "Microsoft.PowerShell";

    /// <param name="computerName">The host name or address.</param>
    /// <param name="useSsl">HTTPS (default port 5986) instead of HTTP (5985).</param>
    /// <param name="port">The TCP port; 0 = the scheme's default.</param>
    /// <param name="applicationName">The URL path of the service (<c>wsman</c>).</param>
    /// <param name="configurationName">The session configuration, or a whole shell resource URI.</param>
    /// <param name="option">Timeouts, TLS checks, encryption, cultures (New-PSSessionOption); null = defaults.</param>
    public WinRSConnectionInfo(string computerName, bool useSsl, int port, string applicationName, string configurationName, PSSessionOption? option)
    {
        ComputerName = computerName;
        UseSsl = useSsl;
        Port = port;
        ApplicationName = applicationName;
        ConfigurationName = configurationName;
        Option = option ?? new PSSessionOption();
        // PSSession.IdleTimeout shows it (ms; -1: the server's default).
        IdleTimeout = IdleTimeoutMs(Option) is > 0 and var ms ? (int)Math.Min(ms, int.MaxValue) : -1;
    }

    public bool UseSsl { get; }
    public int Port { get; }
    public string ApplicationName { get; }
    public string ConfigurationName { get; }

    /// <summary>What PSSession.ConfigurationName shows: the configuration's name, without the shell URI's
    /// <c>http://schemas.microsoft.com/powershell/</c> prefix.</summary>
    internal string ShownConfigurationName => ShownConfiguration(ConfigurationName);

    /// <summary>A configuration name or shell resource URI as PSSession.ConfigurationName shows it.</summary>
    internal static string ShownConfiguration(string nameOrUri) =>
        nameOrUri.StartsWith(PowerShellUriPrefix, StringComparison.OrdinalIgnoreCase) ? nameOrUri[PowerShellUriPrefix.Length..] : nameOrUri;

    /// <summary>The resource URI prefix of PowerShell session configurations (MS-PSRP 3.1.5.3).</summary>
    internal const string PowerShellUriPrefix = "http://schemas.microsoft.com/powershell/";
    public PSSessionOption Option { get; }

    /// <summary>The URL requests go to, e.g. <c>http://srv1:5985/wsman</c>.</summary>
    public string ConnectionUri =>
        $"{(UseSsl ? "https" : "http")}://{(ComputerName.Contains(':') ? $"[{ComputerName}]" : ComputerName)}:{(Port != 0 ? Port : UseSsl ? 5986 : 5985)}/{ApplicationName.TrimStart('/')}";

    /// <summary>The shell's name on the server (the session's name, -Name); null: the runspace's own name.</summary>
    internal string? ShellName { get; set; }

    /// <summary>Told the transport once it started, so the session can be registered with it.</summary>
    internal Action<PsrpTransport>? TransportStarted { get; set; }

    /// <summary>
    /// For a session already on the server (Get-PSSession -ComputerName): the shell that opening the
    /// runspace connects to instead of creating one, and the transport once it did. Shared by the clones
    /// the engine makes, so the cmdlet that opens the runspace finds the transport.
    /// </summary>
    internal sealed class ExistingShell(Guid id)
    {
        /// <summary>The shell's id, which is its runspace pool's id.</summary>
        internal Guid Id { get; } = id;
        /// <summary>The transport opening the runspace started; null before.</summary>
        internal PsrpTransport? Transport { get; set; }
    }

    /// <summary>The shell to connect to, for a session already on the server; null: a new shell.</summary>
    internal ExistingShell? Existing { get; set; }

    public override string ComputerName { get; set; }
    public override PSCredential? Credential { get; set; }
    public override AuthenticationMechanism AuthenticationMechanism { get; set; }
    public override string CertificateThumbprint { get; set; } = "";

    public override RunspaceConnectionInfo Clone() => new WinRSConnectionInfo(ComputerName, UseSsl, Port, ApplicationName, ConfigurationName, Option)
    {
        IdleTimeout = IdleTimeout,
        Credential = Credential,
        AuthenticationMechanism = AuthenticationMechanism,
        CertificateThumbprint = CertificateThumbprint,
        ShellName = ShellName,
        TransportStarted = TransportStarted,
        Existing = Existing,
    };

    public override BaseClientSessionTransportManager CreateClientSessionTransportManager(Guid instanceId, string sessionName, PSRemotingCryptoHelper cryptoHelper) =>
        new PacketTransportManager(instanceId, cryptoHelper, () => Open(ShellName ?? sessionName),
            $"The WS-Management service at {ConnectionUri} ended the session.",
            describeFailure: (m, answered) => answered
                ? $"Processing data from remote server {ComputerName} failed with the following error message: {m}"
                : $"Connecting to remote server {ComputerName} failed with the following error message : {m}");

    // A new shell, or for a session already on the server a connect to its shell: the engine opens a
    // runspace pool as always and the library makes that a connect to the shell's pool (MS-PSRP's
    // reconstruct), so the session goes on with the runspace and state the server kept.
    private PsrpTransport Open(string? shellName)
    {
        PsrpTransport transport = Existing is { } existing
            ? PsrpTransport.ReconstructWsman(ComputerName, ConfigurationName, existing.Id.ToString(), SessionOptions(), NativeCredential())
            : PsrpTransport.OpenWsman(ComputerName, ConfigurationName, shellName, IdleTimeoutMs(Option), SessionOptions(), NativeCredential());
        if (Existing is { } shell) shell.Transport = transport;
        TransportStarted?.Invoke(transport);
        return transport;
    }

    /// <summary>The shell's idle timeout in ms from <see cref="PSSessionOption.IdleTimeout"/>; 0 (the server's default) when not set.</summary>
    internal static uint IdleTimeoutMs(PSSessionOption option) =>
        option.IdleTimeout.TotalMilliseconds is >= 1 and var ms ? (uint)Math.Min(ms, uint.MaxValue) : 0;

    /// <summary>The library's credential for this connection: the client certificate, else -Credential with -Authentication.</summary>
    internal CimCredential? NativeCredential() => CertificateThumbprint.Length > 0
        ? CimCredential.FromCertificateThumbprint(CertificateThumbprint)
        : CredentialOf(Credential, AuthenticationMechanism);

    /// <summary>The library's options for this connection: scheme, port, path, and the session option's TLS checks, encryption, timeout and cultures.</summary>
    internal Native.CimSessionOptions SessionOptions() => new()
    {
        Protocol = ProtocolKind.Wsman,
        UseSsl = UseSsl,
        Port = (uint)Math.Max(Port, 0),
        HttpPrefix = ApplicationName,
        SkipCACheck = Option.SkipCACheck,
        SkipCNCheck = Option.SkipCNCheck,
        SkipRevocationCheck = Option.SkipRevocationCheck,
        NoEncryption = Option.NoEncryption,
        EncodePortInServicePrincipalName = Option.IncludePortInSPN,
        TimeoutMs = (uint)Math.Clamp(Option.OperationTimeout.TotalMilliseconds, 0, uint.MaxValue),
        Culture = Option.Culture?.Name,
        UICulture = Option.UICulture?.Name,
    };

    /// <summary>
    /// The native credential for PowerShell's -Credential and -Authentication: Default is Negotiate, as
    /// on Windows; NegotiateWithImplicitCredential uses the system's credential (the Kerberos ticket cache).
    /// Digest reaches the library, which refuses it as WinRM does not offer it.
    /// </summary>
    internal static CimCredential? CredentialOf(PSCredential? credential, AuthenticationMechanism mechanism)
    {
        CimAuthenticationMechanism native = mechanism switch
        {
            AuthenticationMechanism.Basic => CimAuthenticationMechanism.Basic,
            AuthenticationMechanism.Negotiate or AuthenticationMechanism.NegotiateWithImplicitCredential => CimAuthenticationMechanism.Negotiate,
            AuthenticationMechanism.Kerberos => CimAuthenticationMechanism.Kerberos,
            AuthenticationMechanism.Credssp => CimAuthenticationMechanism.CredSsp,
            AuthenticationMechanism.Digest => CimAuthenticationMechanism.Digest,
            _ => CimAuthenticationMechanism.Default,
        };
        if (mechanism == AuthenticationMechanism.NegotiateWithImplicitCredential || credential is null)
            return native == CimAuthenticationMechanism.Default ? null : new CimCredential(native);
        return new CimCredential(native, credential.UserName, credential.GetNetworkCredential().Password);
    }
}
