using System.Globalization;
using System.Management.Automation;
using RemoteSessions;
using RemoteSessions.Commands;

// The namespace of Windows' CimCmdlets: a FullyQualifiedErrorId ends in the cmdlet type's full name, so
// scripts that match Windows' ids (`Should -Throw -ErrorId`, catch filters) match these too.
namespace Microsoft.Management.Infrastructure.CimCmdlets;

// Inside this namespace Microsoft.Management.Infrastructure's own types would win: these are the module's.
using CimSession = RemoteSessions.CimSession;
using CimSessionOptions = RemoteSessions.CimSessionOptions;
using DComSessionOptions = RemoteSessions.DComSessionOptions;
using ImpersonationType = RemoteSessions.ImpersonationType;
using PacketEncoding = RemoteSessions.PacketEncoding;
using PasswordAuthenticationMechanism = RemoteSessions.PasswordAuthenticationMechanism;
using ProtocolType = RemoteSessions.ProtocolType;
using ProxyType = RemoteSessions.ProxyType;
using WSManSessionOptions = RemoteSessions.WSManSessionOptions;

/// <summary>
/// New-CimSessionOption (spec/cmdlet-behaviour.md §1.4): WS-Management or DCOM options with Windows'
/// defaults, for New-CimSession -SessionOption.
/// </summary>
[Cmdlet(VerbsCommon.New, "CimSessionOption", DefaultParameterSetName = ProtocolSet)]
[Alias("ncso")]
[OutputType(typeof(WSManSessionOptions), typeof(DComSessionOptions))]
public sealed class NewCimSessionOptionCommand : PSCmdlet
{
    private const string ProtocolSet = "ProtocolTypeSet";
    private const string WSManSet = "WSManParameterSet";
    private const string DcomSet = "DcomParameterSet";

    [Parameter(ParameterSetName = WSManSet)] public SwitchParameter NoEncryption { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public SwitchParameter SkipCACheck { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public SwitchParameter SkipCNCheck { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public SwitchParameter SkipRevocationCheck { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public SwitchParameter EncodePortInServicePrincipalName { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public PacketEncoding Encoding { get; set; } = PacketEncoding.Utf8;
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public Uri? HttpPrefix { get; set; }
    /// <summary>Largest SOAP envelope in KiB.</summary>
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public uint MaxEnvelopeSizeKB { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public PasswordAuthenticationMechanism ProxyAuthentication { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public string? ProxyCertificateThumbprint { get; set; }
    [Parameter(ParameterSetName = WSManSet)] [Credential] public PSCredential? ProxyCredential { get; set; }
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public ProxyType ProxyType { get; set; } = ProxyType.WinHttp;
    [Parameter(ParameterSetName = WSManSet, ValueFromPipelineByPropertyName = true)] public SwitchParameter UseSsl { get; set; }

    [Parameter(ParameterSetName = DcomSet, ValueFromPipelineByPropertyName = true)] public ImpersonationType Impersonation { get; set; } = ImpersonationType.Impersonate;
    [Parameter(ParameterSetName = DcomSet, ValueFromPipelineByPropertyName = true)] public SwitchParameter PacketIntegrity { get; set; }
    [Parameter(ParameterSetName = DcomSet, ValueFromPipelineByPropertyName = true)] public SwitchParameter PacketPrivacy { get; set; }

    [Parameter(ParameterSetName = ProtocolSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public ProtocolType Protocol { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)] public CultureInfo? UICulture { get; set; }
    [Parameter(ValueFromPipelineByPropertyName = true)] public CultureInfo? Culture { get; set; }

    protected override void ProcessRecord()
    {
        // As Windows' CreateCimCredentials (CimCommandBase.cs): -ProxyAuthentication without
        // -ProxyCredential allows only the mechanisms that need no password; any other is a terminating
        // error with errorId the operation, InvalidOperation, the cmdlet as target.
        if (ParameterSetName == WSManSet && Bound(nameof(ProxyAuthentication)) && ProxyCredential is null
            && ProxyAuthentication is not (PasswordAuthenticationMechanism.Default or PasswordAuthenticationMechanism.Negotiate
                or PasswordAuthenticationMechanism.Kerberos or PasswordAuthenticationMechanism.NtlmDomain))
            ThrowTerminatingError(new ErrorRecord(
                new PSArgumentOutOfRangeException(nameof(ProxyAuthentication), ProxyAuthentication,
                    $"Authentication type '{ProxyAuthentication}' is invalid without credential. Only following authentication type are allowed without credential, 'None', 'Negotiate', 'Kerberos', or 'NtlmDomain'."),
                "New-CimSessionOption", ErrorCategory.InvalidOperation, this));
        CimSessionOptions options = ParameterSetName switch
        {
            DcomSet => new DComSessionOptions
            {
                Impersonation = Impersonation,
                PacketIntegrity = !Bound(nameof(PacketIntegrity)) || PacketIntegrity,
                PacketPrivacy = !Bound(nameof(PacketPrivacy)) || PacketPrivacy,
            },
            WSManSet => new WSManSessionOptions
            {
                NoEncryption = NoEncryption,
                CertCACheck = !SkipCACheck,
                CertCNCheck = !SkipCNCheck,
                CertRevocationCheck = !SkipRevocationCheck,
                EncodePortInServicePrincipalName = EncodePortInServicePrincipalName,
                PacketEncoding = Encoding,
                HttpUrlPrefix = HttpPrefix,
                MaxEnvelopeSize = MaxEnvelopeSizeKB,
                ProxyAuthentication = ProxyAuthentication,
                ProxyCertificateThumbprint = ProxyCertificateThumbprint,
                ProxyCredential = ProxyCredential,
                ProxyType = ProxyType,
                UseSsl = UseSsl,
            },
            _ => Protocol == ProtocolType.Dcom ? new DComSessionOptions() : new WSManSessionOptions(),
        };
        options.Culture = Culture;
        options.UICulture = UICulture;
        WriteObject(options);
    }

    private bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);
}
