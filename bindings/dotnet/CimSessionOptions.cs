namespace RemoteSessions.Native;

/// <summary>
/// What a caller asks of a new session (New-CimSessionOption, spec/cmdlet-behaviour.md §1.4, plus the
/// -Port and -OperationTimeoutSec of New-CimSession §1.3), for <see cref="SessionScope.NewSession"/>.
/// Zero and null members keep the library's defaults (Windows' defaults). The WS-Management members
/// (everything but <see cref="Protocol"/>, <see cref="Culture"/>, <see cref="UICulture"/> and
/// <see cref="TimeoutMs"/>) are ignored for <see cref="ProtocolKind.Dcom"/>.
/// </summary>
public sealed record CimSessionOptions
{
    /// <summary>The protocol; <see cref="ProtocolKind.Default"/> chooses by computer name.</summary>
    public ProtocolKind Protocol { get; init; } = ProtocolKind.Default;

    /// <summary>HTTPS instead of HTTP (default port 5986 instead of 5985).</summary>
    public bool UseSsl { get; init; }

    /// <summary>Accepts a server certificate that no trusted authority issued.</summary>
    public bool SkipCACheck { get; init; }

    /// <summary>Accepts a server certificate issued for another name (needed to reach an IP address over HTTPS).</summary>
    public bool SkipCNCheck { get; init; }

    /// <summary>Skips the certificate revocation check.</summary>
    public bool SkipRevocationCheck { get; init; }

    /// <summary>Allows unencrypted messages: Basic authentication over plain HTTP needs it.</summary>
    public bool NoEncryption { get; init; }

    /// <summary>Adds the port to the service principal name (<c>HTTP/host:port</c>) for Kerberos.</summary>
    public bool EncodePortInServicePrincipalName { get; init; }

    /// <summary>
    /// Largest SOAP envelope in KiB (<c>w:MaxEnvelopeSize</c>, DSP0226); 0 = the default, 500 KiB. A reply larger
    /// than twice that and 64 KiB is refused before it is read (<see cref="ResultCode.BadReply"/>).
    /// </summary>
    public uint MaxEnvelopeSizeKB { get; init; }

    /// <summary>Culture name such as <c>en-US</c> (WS-Management <c>p:DataLocale</c>, MS-WSMV); null = none sent.</summary>
    public string? Culture { get; init; }

    /// <summary>UI culture name such as <c>en-US</c> (WS-Management <c>w:Locale</c>, DSP0226); null = none sent.</summary>
    public string? UICulture { get; init; }

    /// <summary>Operation timeout in milliseconds: the server's limit (<c>w:OperationTimeout</c>, DSP0226)
    /// and, with a grace of up to 10 s, how long a request waits for its reply; 0 = the default, 60 000 ms.</summary>
    public uint TimeoutMs { get; init; }

    /// <summary>Destination TCP port, at most 65535; 0 = the default for the scheme (5985 HTTP, 5986 HTTPS).</summary>
    public uint Port { get; init; }

    /// <summary>URL path of the WS-Management service (New-CimSessionOption -HttpPrefix), optionally with a
    /// query; null = <c>wsman</c>.</summary>
    public string? HttpPrefix { get; init; }

    internal SessionOptionsHandle ToNative()
    {
        Native.Check(NativeMethods.rsess_session_options_new(Protocol, out SessionOptionsHandle h));
        if (Protocol != ProtocolKind.Dcom)
        {
            SetFlag(h, OptionFlag.UseSsl, UseSsl);
            SetFlag(h, OptionFlag.SkipCACheck, SkipCACheck);
            SetFlag(h, OptionFlag.SkipCNCheck, SkipCNCheck);
            SetFlag(h, OptionFlag.SkipRevocationCheck, SkipRevocationCheck);
            SetFlag(h, OptionFlag.NoEncryption, NoEncryption);
            SetFlag(h, OptionFlag.EncodePortInServicePrincipalName, EncodePortInServicePrincipalName);
            if (MaxEnvelopeSizeKB != 0) Native.Check(NativeMethods.rsess_session_options_set_max_envelope_size_kb(h, MaxEnvelopeSizeKB));
            if (Port != 0) Native.Check(NativeMethods.rsess_session_options_set_port(h, Port));
            if (HttpPrefix is not null) Native.Check(NativeMethods.rsess_session_options_set_http_prefix(h, HttpPrefix));
        }
        if (Culture is not null) Native.Check(NativeMethods.rsess_session_options_set_culture(h, Culture));
        if (UICulture is not null) Native.Check(NativeMethods.rsess_session_options_set_ui_culture(h, UICulture));
        if (TimeoutMs != 0) Native.Check(NativeMethods.rsess_session_options_set_timeout_ms(h, TimeoutMs));
        return h;
    }

    private static void SetFlag(SessionOptionsHandle h, OptionFlag flag, bool on)
    {
        if (on) Native.Check(NativeMethods.rsess_session_options_set_flag(h, flag, true));
    }
}
