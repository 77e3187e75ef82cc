using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RemoteSessions.ReplayServer;

/// <summary>The throwaway TLS certificate of the HTTPS listener.</summary>
public static class Certificate
{
    /// <summary>
    /// A self-signed ECDSA P-256 server certificate, CN=localhost, SAN DNS localhost and IP 127.0.0.1,
    /// not a CA (rustls/webpki reject a CA certificate as the server's own), valid for a week.
    /// </summary>
    public static X509Certificate2 CreateSelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 created = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));
        // Round-trip through PKCS#12 so the private key is a persisted one SslStream can use everywhere.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Whether <paramref name="client"/> chains to <paramref name="issuer"/> (the only root trusted; no revocation check).</summary>
    public static bool IssuedBy(X509Certificate2 client, X509Certificate2 issuer)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(issuer);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        bool ok = chain.Build(client);
        if (!ok) Console.Error.WriteLine($"replay: refused the client certificate {client.Thumbprint} ({client.Subject}): not issued by {issuer.Subject}");
        return ok;
    }
}
