namespace RemoteSessions.Native;

/// <summary>
/// The authentication mechanism of a CIM session (New-CimSession -Authentication; the C ABI's
/// <c>rsess_authentication</c>, numbered as Windows' <c>PasswordAuthenticationMechanism</c>).
/// Basic, Negotiate, Kerberos, NtlmDomain and CredSsp are supported (the last four through the system GSSAPI, MIT krb5 and gss-ntlmssp); Digest is refused as not supported.
/// </summary>
public enum CimAuthenticationMechanism : uint
{
    /// <summary>Basic when a credential is given, none without.</summary>
    Default = 0,
    /// <summary>HTTP Digest (RFC 7616).</summary>
    Digest = 1,
    /// <summary>SPNEGO (RFC 4559): Kerberos, else NTLM.</summary>
    Negotiate = 2,
    /// <summary>HTTP Basic (RFC 7617): user name and password on every request, so only over HTTPS or
    /// with <see cref="CimSessionOptions.NoEncryption"/>.</summary>
    Basic = 3,
    /// <summary>Kerberos through SPNEGO.</summary>
    Kerberos = 4,
    /// <summary>NTLM with a domain account.</summary>
    NtlmDomain = 5,
    /// <summary>CredSSP (MS-CSSP): a TLS session inside HTTP, SPNEGO inside it, then the user name and
    /// password are delegated to the server (which can then reach other computers as that user). Needs a
    /// user name and password. The inner certificate is checked as over HTTPS (SkipCACheck/SkipCNCheck
    /// apply); over HTTP messages are encrypted with that TLS session.</summary>
    CredSsp = 6,
}

/// <summary>
/// New-CimSession's -Credential and -Authentication: a mechanism and, optionally, a user name and
/// password. The password is handed to the native library only; <see cref="ToString"/> never shows it.
/// </summary>
public sealed class CimCredential
{
    /// <summary>A credential for <paramref name="userName"/> (both null for a mechanism alone).</summary>
    /// <param name="mechanism">How to authenticate.</param>
    /// <param name="userName">The user name as the server expects it (<c>user</c>, <c>DOMAIN\user</c>,
    /// <c>user@realm</c>), or null.</param>
    /// <param name="password">The password, or null; kept only until the session is made.</param>
    public CimCredential(CimAuthenticationMechanism mechanism, string? userName = null, string? password = null)
    {
        Mechanism = mechanism;
        UserName = userName;
        _password = password;
    }

    private readonly string? _password;

    /// <summary>The mechanism (Default = Basic with a credential, none without).</summary>
    public CimAuthenticationMechanism Mechanism { get; }

    /// <summary>The user name as the server expects it (<c>user</c>, <c>DOMAIN\user</c>, <c>user@realm</c>); null for none.</summary>
    public string? UserName { get; }

    internal CredentialHandle ToNative()
    {
        Native.Check(NativeMethods.rsess_credential_new(Mechanism, UserName, _password, out CredentialHandle h));
        return h;
    }

    /// <summary>The mechanism and user name, e.g. <c>Basic me</c>; never the password.</summary>
    public override string ToString() => UserName is null ? Mechanism.ToString() : $"{Mechanism} {UserName}";
}
