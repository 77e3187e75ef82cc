namespace RemoteSessions.Native;

/// <summary>
/// The authentication mechanism of a CIM session (New-CimSession -Authentication; the C ABI's
/// <c>rsess_authentication</c>, numbered as Windows' <c>PasswordAuthenticationMechanism</c>).
/// Basic, Negotiate, Kerberos, NtlmDomain and CredSsp are supported (the last four through the system GSSAPI, MIT krb5 and gss-ntlmssp); Digest is refused as not supported.
/// </summary>
public enum CimAuthenticationMechanism : uint
{
    /// <summary>Negotiate, as on Windows: the credential given, else the system's (the Kerberos ticket cache).</summary>
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
/// password; or its -CertificateThumbprint: a TLS client certificate and its private key
/// (<see cref="FromCertificateFile"/>, <see cref="FromCertificateThumbprint"/>). The password and the
/// key are handed to the native library only; <see cref="ToString"/> never shows them.
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

    /// <summary>The mechanism (Default = Negotiate, as on Windows; Basic only when asked for).</summary>
    public CimAuthenticationMechanism Mechanism { get; }

    /// <summary>The user name as the server expects it (<c>user</c>, <c>DOMAIN\user</c>, <c>user@realm</c>); null for none.</summary>
    public string? UserName { get; }

    private string? _certificatePath;

    /// <summary>
    /// A credential that authenticates with the TLS client certificate and private key in the file at
    /// <paramref name="path"/> (read now, to check it, and again when a session is made with it): PEM (the certificate, any chain,
    /// and its key as a <c>PRIVATE KEY</c>, <c>RSA PRIVATE KEY</c> or <c>EC PRIVATE KEY</c> block) or
    /// PKCS#12 (.pfx, read through the system's OpenSSL 3 libcrypto). Sessions made with it send the
    /// certificate in the TLS handshake and the DSP0226 <c>secprofile/https/mutual</c> Authorization
    /// value, over HTTPS only (<see cref="CimSessionOptions.UseSsl"/>; over HTTP making the session
    /// fails with <see cref="ResultCode.InvalidArgument"/>). Errors, at once:
    /// <see cref="RemoteSessionsException"/> with <see cref="ResultCode.Io"/> (unreadable file) or
    /// <see cref="ResultCode.InvalidArgument"/> (no certificate, no key, a key that does not belong to
    /// the certificate, a .pfx that does not open with <paramref name="password"/>).
    /// </summary>
    /// <param name="path">The PEM or .pfx file.</param>
    /// <param name="password">A .pfx file's password; null for none or the empty one.</param>
    public static CimCredential FromCertificateFile(string path, string? password = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var credential = new CimCredential(CimAuthenticationMechanism.Default, null, password) { _certificatePath = path };
        credential.ToNative().Dispose();
        return credential;
    }

    /// <summary>
    /// A credential that authenticates with the client certificate whose SHA-1 thumbprint is
    /// <paramref name="thumbprint"/> (as Windows shows it; case, spaces and colons do not matter),
    /// found now (to check it) and when a session is made with it in the per-user certificate store: the folder
    /// <paramref name="storeFolder"/>, else the environment variable <c>RSESS_CERTIFICATE_STORE</c> as
    /// .NET sees it (<see cref="Environment.GetEnvironmentVariable(string)"/>, so a change made in this
    /// process counts), else <c>$XDG_CONFIG_HOME/RemoteSessions/certificates</c>, else
    /// <c>~/.config/RemoteSessions/certificates</c>; then .NET's CurrentUser\My store
    /// (<c>~/.dotnet/corefx/cryptography/x509stores/my</c>, where
    /// <c>[X509Store]::new('My','CurrentUser').Add($certificate)</c> writes). A file there serves when
    /// it holds the certificate and its key (PEM, or .pfx without a password). As
    /// <see cref="FromCertificateFile"/> otherwise (errors at once); not found is
    /// <see cref="ResultCode.NotFound"/>, whose message lists the folders searched; a malformed
    /// thumbprint <see cref="ResultCode.InvalidArgument"/>.
    /// </summary>
    /// <param name="thumbprint">40 hexadecimal digits.</param>
    /// <param name="storeFolder">RemoteSessions' certificate folder; null for the default.</param>
    public static CimCredential FromCertificateThumbprint(string thumbprint, string? storeFolder = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(thumbprint);
        storeFolder ??= Environment.GetEnvironmentVariable("RSESS_CERTIFICATE_STORE") is { Length: > 0 } set ? set : null;
        var credential = new CimCredential(CimAuthenticationMechanism.Default) { CertificateThumbprint = thumbprint, StoreFolder = storeFolder };
        credential.ToNative().Dispose();
        return credential;
    }

    /// <summary>The thumbprint of a credential made by <see cref="FromCertificateThumbprint"/>, else null.</summary>
    public string? CertificateThumbprint { get; private init; }

    /// <summary>The certificate folder searched first by a credential made by <see cref="FromCertificateThumbprint"/> (null: the default).</summary>
    public string? StoreFolder { get; private init; }

    /// <summary>The file of a credential made by <see cref="FromCertificateFile"/>, else null.</summary>
    public string? CertificatePath => _certificatePath;

    internal CredentialHandle ToNative()
    {
        if (_certificatePath is not null)
        {
            ResultCode code = NativeMethods.rsess_credential_new_certificate_file(_certificatePath, _password, out CredentialHandle file, out IntPtr error);
            Native.Check(code, error);
            return file;
        }
        if (CertificateThumbprint is not null)
        {
            ResultCode code = NativeMethods.rsess_credential_new_certificate_thumbprint(CertificateThumbprint, StoreFolder, out CredentialHandle found, out IntPtr error);
            Native.Check(code, error);
            return found;
        }
        Native.Check(NativeMethods.rsess_credential_new(Mechanism, UserName, _password, out CredentialHandle h));
        return h;
    }

    /// <summary>The mechanism and user name, e.g. <c>Basic me</c>, or the certificate (<c>Certificate
    /// &lt;thumbprint or path&gt;</c>); never the password or key.</summary>
    public override string ToString() =>
        CertificateThumbprint is not null ? $"Certificate {CertificateThumbprint}"
        : _certificatePath is not null ? $"Certificate {_certificatePath}"
        : UserName is null ? Mechanism.ToString() : $"{Mechanism} {UserName}";
}
