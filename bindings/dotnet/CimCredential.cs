namespace RemoteSessions.Native;

/// <summary>
/// New-CimSession's -Credential and -Authentication: a mechanism and, optionally, a user name and
/// password. The password is handed to the native library only; <see cref="ToString"/> never shows it.
/// </summary>
public sealed class CimCredential
{
    /// <summary>A credential for <paramref name="userName"/> (both null for a mechanism alone).</summary>
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

    /// <inheritdoc />
    public override string ToString() => UserName is null ? Mechanism.ToString() : $"{Mechanism} {UserName}";
}
