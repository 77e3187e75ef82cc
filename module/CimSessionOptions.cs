using System.Globalization;
using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions;

/// <summary>Which protocol New-CimSessionOption -Protocol asks for (MMI <c>ProtocolType</c>).</summary>
public enum ProtocolType { Default, Dcom, Wsman }

/// <summary>SOAP packet encoding of WS-Management options.</summary>
public enum PacketEncoding { Default, Utf8, Utf16 }

/// <summary>How WS-Management finds a proxy.</summary>
public enum ProxyType { None, WinHttp, Auto, InternetExplorer }

/// <summary>DCOM impersonation level.</summary>
public enum ImpersonationType { Default, None, Identify, Impersonate, Delegate }

/// <summary>Authentication mechanisms of -Authentication (MMI <c>PasswordAuthenticationMechanism</c>).</summary>
public enum PasswordAuthenticationMechanism { Default, Digest, Negotiate, Basic, Kerberos, NtlmDomain, CredSsp }

/// <summary>Options shared by every protocol (spec/cmdlet-behaviour.md §1.4).</summary>
public abstract class CimSessionOptions
{
    public CultureInfo? Culture { get; set; }
    public CultureInfo? UICulture { get; set; }
    /// <summary>Operation timeout; <see cref="TimeSpan.Zero"/> = the protocol default.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>A copy, so a session never shares options with the caller (spec §1.3 step 1).</summary>
    public abstract CimSessionOptions Clone();

    internal abstract NativeCimSessionOptions ToSpec(uint port);
}

/// <summary>WS-Management options with Windows' defaults (certificate checks on, UTF-8, WinHttp proxy).</summary>
public sealed class WSManSessionOptions : CimSessionOptions
{
    /// <summary>Port; 0 = 5985 for HTTP, 5986 for HTTPS.</summary>
    public uint DestinationPort { get; set; }
    public bool UseSsl { get; set; }
    public bool CertCACheck { get; set; } = true;
    public bool CertCNCheck { get; set; } = true;
    public bool CertRevocationCheck { get; set; } = true;
    public bool NoEncryption { get; set; }
    public bool EncodePortInServicePrincipalName { get; set; }
    public PacketEncoding PacketEncoding { get; set; } = PacketEncoding.Utf8;
    public Uri? HttpUrlPrefix { get; set; }
    /// <summary>Largest envelope in KiB; 0 = the default.</summary>
    public uint MaxEnvelopeSize { get; set; }
    public ProxyType ProxyType { get; set; } = ProxyType.WinHttp;
    public PasswordAuthenticationMechanism ProxyAuthentication { get; set; }
    public PSCredential? ProxyCredential { get; set; }
    public string? ProxyCertificateThumbprint { get; set; }

    public override CimSessionOptions Clone() => (WSManSessionOptions)MemberwiseClone();

    internal override NativeCimSessionOptions ToSpec(uint port) => new()
    {
        Protocol = ProtocolKind.Wsman,
        UseSsl = UseSsl,
        SkipCACheck = !CertCACheck,
        SkipCNCheck = !CertCNCheck,
        SkipRevocationCheck = !CertRevocationCheck,
        NoEncryption = NoEncryption,
        EncodePortInServicePrincipalName = EncodePortInServicePrincipalName,
        MaxEnvelopeSizeKB = MaxEnvelopeSize,
        Culture = Culture?.Name,
        UICulture = UICulture?.Name,
        TimeoutMs = (uint)Math.Min(Timeout.TotalMilliseconds, uint.MaxValue),
        Port = port != 0 ? port : DestinationPort,
        HttpPrefix = HttpUrlPrefix?.OriginalString,
    };
}

/// <summary>DCOM options with Windows' defaults (Impersonate, packet integrity and privacy).</summary>
public sealed class DComSessionOptions : CimSessionOptions
{
    public ImpersonationType Impersonation { get; set; } = ImpersonationType.Impersonate;
    public bool PacketIntegrity { get; set; } = true;
    public bool PacketPrivacy { get; set; } = true;

    public override CimSessionOptions Clone() => (DComSessionOptions)MemberwiseClone();

    internal override NativeCimSessionOptions ToSpec(uint port) => new()
    {
        Protocol = ProtocolKind.Dcom,
        Culture = Culture?.Name,
        UICulture = UICulture?.Name,
        TimeoutMs = (uint)Math.Min(Timeout.TotalMilliseconds, uint.MaxValue),
    };
}
