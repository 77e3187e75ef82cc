using System.Diagnostics;
using RemoteSessions.Native;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// Test certificates from tests/client-certs.sh (openssl: a test CA, client certificates issued by it,
/// one it did not issue) and the replay server's port that requires a client certificate from that CA
/// (rsess-replay --client-ca). Stopped and deleted on dispose.
/// </summary>
public sealed class ClientCertificateFixture : IDisposable
{
    public ClientCertificateFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), $"rsess-xunit-certs-{Guid.NewGuid():N}");
        var psi = new ProcessStartInfo("bash") { ArgumentList = { Path.Combine(Paths.Repo, "tests", "client-certs.sh"), Folder } };
        using (Process made = Process.Start(psi)!)
        {
            made.WaitForExit();
            if (made.ExitCode != 0) throw new InvalidOperationException("tests/client-certs.sh failed (is openssl installed?)");
        }
        Server = new ReplayServer().Start(clientCa: Path.Combine(Folder, "ca.pem"));
    }

    /// <summary>The certificates' folder.</summary>
    public string Folder { get; }

    /// <summary>The replay server; <see cref="ReplayServer.MutualPort"/> requires a certificate.</summary>
    public ReplayServer Server { get; }

    /// <summary>The path of a file of <see cref="Folder"/>.</summary>
    public string At(string name) => Path.Combine(Folder, name);

    /// <summary>The thumbprint tests/client-certs.sh wrote for <paramref name="name"/>.</summary>
    public string Thumbprint(string name) => File.ReadAllText(At(name + ".thumbprint")).Trim();

    public void Dispose()
    {
        Server.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The C# library's client certificate credentials, as a program without PowerShell uses them.</summary>
public sealed class ClientCertificateTests(ClientCertificateFixture peer) : IClassFixture<ClientCertificateFixture>
{
    static ClientCertificateTests()
    {
        if (Environment.GetEnvironmentVariable(RemoteSessionsLibrary.PathEnvironmentVariable) is null or ""
            && !File.Exists(Path.Combine(AppContext.BaseDirectory, "libremote_sessions.so")))
            Environment.SetEnvironmentVariable(RemoteSessionsLibrary.PathEnvironmentVariable, Path.Combine(Paths.Repo, "target", "release", "libremote_sessions.so"));
    }

    /// <summary>HTTPS to the certificate port; the server's own certificate is a throwaway one.</summary>
    private CimSessionOptions Https(bool useSsl = true) =>
        new() { UseSsl = useSsl, SkipCACheck = true, SkipCNCheck = true, Port = (uint)peer.Server.MutualPort };

    [Theory]
    [InlineData("client.pem", null)]
    [InlineData("client-ec.pem", null)]
    [InlineData("client-pw.pfx", "Pfx-Pa55")]
    public void A_certificate_file_opens_a_session(string file, string? password)
    {
        using var scope = new SessionScope();
        using CimSession s = scope.NewSession("127.0.0.1", options: Https(), credential: CimCredential.FromCertificateFile(peer.At(file), password));
        Assert.Equal("WSMAN", s.Protocol);
    }

    [Fact]
    public void A_thumbprint_is_found_in_the_store_folder()
    {
        string store = peer.At("store-xunit");
        Directory.CreateDirectory(store);
        File.Copy(peer.At("client.pem"), Path.Combine(store, "mine.pem"), overwrite: true);
        CimCredential credential = CimCredential.FromCertificateThumbprint(peer.Thumbprint("client").ToLowerInvariant(), store);
        Assert.Equal($"Certificate {peer.Thumbprint("client").ToLowerInvariant()}", credential.ToString());
        using var scope = new SessionScope();
        using CimSession s = scope.NewSession("127.0.0.1", options: Https(), credential: credential);
        var missing = Assert.Throws<RemoteSessionsException>(() => CimCredential.FromCertificateThumbprint(new string('0', 40), store));
        Assert.Equal(ResultCode.NotFound, missing.Code);
        Assert.Contains(store, missing.Message);
    }

    [Fact]
    public void Bad_files_fail_at_once_and_http_fails_before_connecting()
    {
        var keyless = Assert.Throws<RemoteSessionsException>(() => CimCredential.FromCertificateFile(peer.At("client.crt")));
        Assert.Equal(ResultCode.InvalidArgument, keyless.Code);
        Assert.Contains("no private key", keyless.Message);
        var wrong = Assert.Throws<RemoteSessionsException>(() => CimCredential.FromCertificateFile(peer.At("client-pw.pfx"), "wrong"));
        Assert.Equal(ResultCode.InvalidArgument, wrong.Code);
        string key = File.ReadAllLines(peer.At("client.key"))[1];
        Assert.DoesNotContain(key, keyless.ToString() + wrong.ToString());

        using var scope = new SessionScope();
        var http = Assert.Throws<RemoteSessionsException>(() =>
            scope.NewSession("127.0.0.1", options: Https(useSsl: false), credential: CimCredential.FromCertificateFile(peer.At("client.pem"))));
        Assert.Equal(ResultCode.InvalidArgument, http.Code);
        var refused = Assert.Throws<RemoteSessionsException>(() =>
            scope.NewSession("127.0.0.1", options: Https(), credential: CimCredential.FromCertificateFile(peer.At("other.pem"))));
        Assert.Contains(peer.Thumbprint("other"), refused.Message);
    }
}
