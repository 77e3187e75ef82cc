using System.Management.Automation;
using RemoteSessions.Native;
using RemoteSessions;
using RemoteSessions.Commands;

// The namespace of Windows' CimCmdlets: a FullyQualifiedErrorId ends in the cmdlet type's full name, so
// scripts that match Windows' ids (`Should -Throw -ErrorId`, catch filters) match these too.
namespace Microsoft.Management.Infrastructure.CimCmdlets;

// Inside this namespace Microsoft.Management.Infrastructure's own types would win: these are the module's.
using CimException = RemoteSessions.CimException;
using CimSession = RemoteSessions.CimSession;
using CimSessionOptions = RemoteSessions.CimSessionOptions;
using DComSessionOptions = RemoteSessions.DComSessionOptions;
using PasswordAuthenticationMechanism = RemoteSessions.PasswordAuthenticationMechanism;
using WSManSessionOptions = RemoteSessions.WSManSessionOptions;

/// <summary>
/// New-CimSession (spec/cmdlet-behaviour.md §1.3): creates a CIM session per computer name (none = this
/// machine, served by the in-process provider; a name = WS-Management to it, tested with Identify unless
/// -SkipTestConnection) and registers it in the current runspace. Per-computer failures are
/// non-terminating, name the computer and consume no Id.
/// </summary>
[Cmdlet(VerbsCommon.New, "CimSession", DefaultParameterSetName = CredentialSet)]
[Alias("ncms")]
[OutputType(typeof(CimSession))]
public sealed class NewCimSessionCommand : PSCmdlet
{
    private const string CredentialSet = "CredentialParameterSet";
    private const string CertificateSet = "CertificateParameterSet";

    [Parameter(ParameterSetName = CredentialSet, ValueFromPipelineByPropertyName = true)]
    public PasswordAuthenticationMechanism Authentication { get => _authentication; set { _authentication = value; _authenticationSet = true; } }
    private PasswordAuthenticationMechanism _authentication;
    private bool _authenticationSet;

    [Parameter(ParameterSetName = CredentialSet, Position = 1)]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter(ParameterSetName = CertificateSet, ValueFromPipelineByPropertyName = true)]
    public string? CertificateThumbprint { get; set; }

    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>Operation timeout in seconds; 0 = the default.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("OT")]
    public uint OperationTimeoutSec { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter SkipTestConnection { get; set; }

    /// <summary>Destination port; 0 = the default for the scheme.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public uint Port { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public CimSessionOptions? SessionOption { get; set; }

    protected override void ProcessRecord()
    {
        CimSessionOptions? options = BuildOptions();
        CimCredential? credential = CertificateThumbprint is null ? CredentialOf(Credential, Authentication) : CertificateCredential(CertificateThumbprint, options);
        RunspaceSessions state = RunspaceSessions.Current;
        foreach (string? computer in (string?[]?)ComputerName ?? [null])
        {
            if (computer is null && Credential is not null)
            {
                WriteError(new ErrorRecord(new CimException("User credentials cannot be used for local connections "),
                    "HRESULT 0x80041064", ErrorCategory.InvalidArgument, Credential.UserName));
                continue;
            }
            try
            {
                NativeCimSessionOptions? spec = options?.ToSpec(Port);
                NativeCimSession native = state.Scope.NewSession(computer, Name, spec, credential, SkipTestConnection);
                WriteObject(state.Wrap(native));
            }
            catch (RemoteSessionsException e) when (e.Code == ResultCode.NotSupported && options is DComSessionOptions)
            {
                WriteError(new ErrorRecord(new CimException(e.Message, e.Code, e.Message, e),
                    "DcomNotAvailable", ErrorCategory.NotImplemented, computer));
            }
            catch (RemoteSessionsException e)
            {
                WriteError(CimErrors.FromNative(e, computer, computer));
            }
        }
    }

    /// <summary>The native credential for -Credential/-Authentication; null when neither was given.</summary>
    internal static CimCredential? CredentialOf(PSCredential? credential, PasswordAuthenticationMechanism mechanism)
    {
        if (credential is null && mechanism == PasswordAuthenticationMechanism.Default) return null;
        var native = (CimAuthenticationMechanism)(uint)mechanism;
        return credential is null
            ? new CimCredential(native)
            : new CimCredential(native, credential.UserName, credential.GetNetworkCredential().Password);
    }

    /// <summary>
    /// -CertificateThumbprint: the client certificate and key found now in the per-user store (see
    /// about_RemoteSessions), for HTTPS only. Terminating errors, before any connection:
    /// ClientCertificateNeedsHttps (the options are not -UseSsl), ClientCertificateNotFound (no file
    /// holds it; the message lists the folders searched), ClientCertificateUnusable (a malformed
    /// thumbprint, a file without the key, a key that does not match, an unreadable file).
    /// </summary>
    private CimCredential CertificateCredential(string thumbprint, CimSessionOptions? options)
    {
        if (options is WSManSessionOptions { UseSsl: false })
            ThrowTerminatingError(new ErrorRecord(
                new PSArgumentException($"The client certificate {thumbprint} can be used only over HTTPS: create the session options with New-CimSessionOption -UseSsl."),
                "ClientCertificateNeedsHttps", ErrorCategory.InvalidArgument, thumbprint));
        try
        {
            return CimCredential.FromCertificateThumbprint(thumbprint);
        }
        catch (RemoteSessionsException e)
        {
            bool missing = e.Code == ResultCode.NotFound;
            ThrowTerminatingError(new ErrorRecord(new CimException(e.Message, e.Code, e.Message, e),
                missing ? "ClientCertificateNotFound" : "ClientCertificateUnusable",
                missing ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData, thumbprint));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    // spec §1.3 steps 1–5: clone the options, reject DCOM with -Port/-CertificateThumbprint, let -Port or a
    // thumbprint force WS-Man, copy -OperationTimeoutSec, check -Authentication without -Credential.
    // Both refusals are terminating as Windows' CimCommandBase makes them: errorId the operation
    // ("New-CimSession"), InvalidOperation, the cmdlet itself as the target.
    private CimSessionOptions? BuildOptions()
    {
        CimSessionOptions? options = SessionOption?.Clone();
        if (options is DComSessionOptions)
        {
            string? offending = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? nameof(Port)
                : CertificateThumbprint is not null ? nameof(CertificateThumbprint) : null;
            if (offending is not null)
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException($"Parameter '{offending}' cannot be used with the parameter 'DComSessionOptions'."),
                    "New-CimSession", ErrorCategory.InvalidOperation, this));
        }
        if (options is null && (MyInvocation.BoundParameters.ContainsKey(nameof(Port)) || CertificateThumbprint is not null))
            options = new WSManSessionOptions { DestinationPort = Port };
        if (options is not null && OperationTimeoutSec != 0) options.Timeout = TimeSpan.FromSeconds(OperationTimeoutSec);
        if (options is null && OperationTimeoutSec != 0 && ComputerName is not null)
            options = new WSManSessionOptions { Timeout = TimeSpan.FromSeconds(OperationTimeoutSec) };
        if (Credential is null && _authenticationSet && Authentication is not (PasswordAuthenticationMechanism.Default
                or PasswordAuthenticationMechanism.Negotiate or PasswordAuthenticationMechanism.Kerberos
                or PasswordAuthenticationMechanism.NtlmDomain))
            ThrowTerminatingError(new ErrorRecord(
                new PSArgumentOutOfRangeException(nameof(Authentication), Authentication,
                    $"Authentication type '{Authentication}' is invalid without credential. Only following authentication type are allowed without credential, 'None', 'Negotiate', 'Kerberos', or 'NtlmDomain'."),
                "New-CimSession", ErrorCategory.InvalidOperation, this));
        return options;
    }
}
