namespace RemoteSessions.Native;

/// <summary>
/// What a caller asks of a new session (New-CimSessionOption, spec/cmdlet-behaviour.md §1.4, plus the
/// -Port and -OperationTimeoutSec of New-CimSession §1.3). Null members keep the library's defaults.
/// </summary>
public sealed record CimSessionOptions
{
    public ProtocolKind Protocol { get; init; } = ProtocolKind.Default;
    public bool UseSsl { get; init; }
    public bool SkipCACheck { get; init; }
    public bool SkipCNCheck { get; init; }
    public bool SkipRevocationCheck { get; init; }
    public bool NoEncryption { get; init; }
    public bool EncodePortInServicePrincipalName { get; init; }
    /// <summary>Largest SOAP envelope in KiB; 0 = the protocol default.</summary>
    public uint MaxEnvelopeSizeKB { get; init; }
    /// <summary>Culture name such as <c>en-US</c> (WS-Man <c>p:DataLocale</c>).</summary>
    public string? Culture { get; init; }
    /// <summary>UI culture name (WS-Man <c>w:Locale</c>).</summary>
    public string? UICulture { get; init; }
    /// <summary>Operation timeout in milliseconds; 0 = default.</summary>
    public uint TimeoutMs { get; init; }
    /// <summary>Destination port; 0 = the default for the scheme.</summary>
    public uint Port { get; init; }
    /// <summary>URL path of the WS-Management service (New-CimSessionOption -HttpPrefix); null = <c>wsman</c>.</summary>
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
