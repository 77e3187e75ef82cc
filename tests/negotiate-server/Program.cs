// rsess-negotiate: a WS-Management endpoint on 127.0.0.1 for the Negotiate, Kerberos and NTLM tests of
// the Rust client. Each TCP connection is authenticated with .NET's NegotiateAuthentication (server side,
// through the system GSSAPI: Kerberos with the keytab KRB5_KTNAME names, NTLM with gss-ntlmssp and the
// user file NTLM_USER_FILE; tests/kdc.sh makes both), as WinRM does:
//   - a request without Authorization gets 401 with `WWW-Authenticate: Negotiate` and `Kerberos`;
//   - the token legs are answered 401 with the next token, and the last with 200 and the final token;
//     a refused token gets a bare 401 challenge, as Windows answers;
//   - a request that carries a body before its connection is authenticated is refused (400): the client
//     must authenticate with empty requests first;
//   - once authenticated, every request must be sealed (MS-WSMV 2.2.9.1, multipart/encrypted with the
//     protocol of the scheme: application/HTTP-SPNEGO-session-encrypted for Negotiate,
//     application/HTTP-Kerberos-session-encrypted for Kerberos), its length must match and it must have
//     been encrypted; anything in clear text is refused (400) and counted.
// Every sealed request is answered with a sealed WS-Management IdentifyResponse whose ProductVersion
// names the package and the user the server authenticated ("NTLM RSESS\ann"), and whose
// ProtocolVersion echoes the length of the request it opened. On the path /wsman/clear-reply the reply
// goes in clear text (a client must refuse it); on /wsman/no-final-token the 200 that completes the
// context leaves out the server's final token (a Kerberos client must refuse: no mutual authentication). Kerberos replies are sealed with gss_wrap (right-rotation
// count 0, as non-Windows servers send them), split after the 16-byte token header; NTLM replies put
// the 16-byte signature first, as Windows does and as gss-ntlmssp writes it; an NTLM request whose
// signature part is not an NTLM signature (version 1) is a violation.
// A second port speaks HTTPS (a self-signed ECDSA certificate signed with SHA-384): requests and replies
// are SOAP in clear text there, as WinRM over HTTPS, and the acceptor is given the channel binding
// tls-server-end-point of that certificate. NOTE: .NET on Linux does not enforce it (an
// ExtendedProtectionPolicy throws PlatformNotSupportedException, and a context with another binding
// is accepted too), so this endpoint shows that contexts carrying a binding work, not that a wrong
// one is refused.
// With `--upstream <url> --upstream-user <user> --upstream-password <password>` the opened SOAP of every
// request is forwarded to that WS-Management server (e.g. tests/replay-server) with Basic over HTTP, and
// its reply (status and body) is sealed back: a Negotiate front for full CIM conversations, and for
// PSSessions in front of tests/wsman-endpoint (each client connection forwards on its own, and a
// long-polling Receive waits as long as its w:OperationTimeout: the forwarding has no time limit). With
// `--allow-basic` as well, a request with `Authorization: Basic` is forwarded in clear text with that header
// (the upstream server checks it), for comparisons of Basic with sealed Negotiate through the same front.
// On a path that ends in /close every reply carries `Connection: close` and ends its connection, so each
// request pays for a new connection and its authentication.
// CredSSP (scheme `CredSSP`, offered beside the others on both ports) is served by CredSsp.cs: TLS
// inside the HTTP exchange with the same certificate, SPNEGO, the public-key proofs and the delegated
// password, checked against the realm's users; then over HTTP only requests sealed as
// application/HTTP-CredSSP-session-encrypted are answered (clear SOAP over HTTPS). Its replies name
// "CredSSP <package> <delegated user>".
// Prints "listening http=<port> https=<port>" when ready; one line per event on stderr; stops at EOF on stdin.
using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication.ExtendedProtection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

RemoteSessions.NegotiateServer.Upstream.Configure(args);
var listener = new TcpListener(IPAddress.Loopback, 0);
listener.Start();
var tlsListener = new TcpListener(IPAddress.Loopback, 0);
tlsListener.Start();
// A self-signed ECDSA P-256 certificate signed with SHA-384 (ecdsa-with-SHA384), so the channel binding's hash is SHA-384
// (RFC 5929 §4.1), not the default SHA-256.
using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
var certificateRequest = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA384);
var names = new SubjectAlternativeNameBuilder();
names.AddDnsName("localhost");
names.AddIpAddress(IPAddress.Loopback);
certificateRequest.CertificateExtensions.Add(names.Build());
certificateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
certificateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
certificateRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
certificateRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(certificateRequest.PublicKey, false));
using var ephemeral = certificateRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
Console.Out.WriteLine($"listening http={((IPEndPoint)listener.LocalEndpoint).Port} https={((IPEndPoint)tlsListener.LocalEndpoint).Port}");
Console.Out.Flush();
new Thread(() =>
{
    try
    {
        using Stream stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        while (stdin.Read(buffer, 0, buffer.Length) > 0) { }
    }
    catch (IOException) { }
    Environment.Exit(0);
}) { IsBackground = true }.Start();

int connections = 0;
async Task AcceptAsync(TcpListener on, X509Certificate2? tls, X509Certificate2 credssp)
{
    while (true)
    {
        TcpClient client = await on.AcceptTcpClientAsync();
        int id = Interlocked.Increment(ref connections);
        _ = Task.Run(async () =>
        {
            try { await RemoteSessions.NegotiateServer.Connection.ServeAsync(id, client, tls, credssp); }
            catch (Exception e) { Console.Error.WriteLine($"connection {id}: {e.GetType().Name}: {e.Message}"); }
            finally { client.Dispose(); }
        });
    }
}
await Task.WhenAll(AcceptAsync(listener, null, certificate), AcceptAsync(tlsListener, certificate, certificate));

namespace RemoteSessions.NegotiateServer
{
    /// <summary>One HTTP/1.1 request: its path, headers and body.</summary>
    sealed record Request(string Path, List<(string Name, string Value)> Headers, byte[] Body)
    {
        public string? Header(string name) =>
            Headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
    }

    /// <summary>
    /// The channel binding tls-server-end-point (RFC 5929 §4.1) of this server's certificate, in the
    /// SEC_CHANNEL_BINDINGS layout .NET hands to GSSAPI: eight 32-bit fields, then the application data
    /// ("tls-server-end-point:" and the certificate's hash). The certificate is signed with SHA-384, so
    /// the hash is SHA-384.
    /// </summary>
    sealed class EndpointBinding : ChannelBinding
    {
        readonly int size;

        public EndpointBinding(X509Certificate2 certificate) : base(true)
        {
            byte[] hash = SHA384.HashData(certificate.RawData);
            byte[] data = [.. Encoding.ASCII.GetBytes("tls-server-end-point:"), .. hash];
            size = 32 + data.Length;
            IntPtr memory = Marshal.AllocHGlobal(size);
            Marshal.Copy(new byte[32], 0, memory, 32);
            Marshal.WriteInt32(memory, 24, data.Length);
            Marshal.WriteInt32(memory, 28, 32);
            Marshal.Copy(data, 0, memory + 32, data.Length);
            SetHandle(memory);
        }

        public override int Size => size;

        protected override bool ReleaseHandle()
        {
            Marshal.FreeHGlobal(handle);
            return true;
        }
    }

    /// <summary>Where opened requests go when `--upstream` is given; else each is answered with an IdentifyResponse.</summary>
    static class Upstream
    {
        static HttpClient? client;
        static Uri? url;

        /// <summary>Whether Basic requests are forwarded in clear text (`--allow-basic`).</summary>
        public static bool AllowBasic { get; private set; }

        public static void Configure(string[] args)
        {
            string? Arg(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
            if (Arg("--upstream") is not { } target) return;
            url = new Uri(target);
            // No time limit of its own: a WinRS Receive waits at the upstream server for as long as the
            // client's w:OperationTimeout says (New-PSSessionOption's default is 3 minutes), and the
            // client bounds its own wait; a limit here would cut an idle PSSession's long poll.
            client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { Timeout = Timeout.InfiniteTimeSpan };
            string basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Arg("--upstream-user")}:{Arg("--upstream-password")}"));
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", basic);
            AllowBasic = args.Contains("--allow-basic");
        }

        /// <summary>Forwards a Basic request as it came (its own Authorization header, clear text).</summary>
        public static async Task<(int Status, byte[] Body)> ForwardBasicAsync(string authorization, byte[] soap)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(soap) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/soap+xml;charset=UTF-8");
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
            using HttpResponseMessage reply = await client!.SendAsync(request);
            return ((int)reply.StatusCode, await reply.Content.ReadAsByteArrayAsync());
        }

        /// <summary>The reply to an opened request: the upstream server's status and body, or 200 with `identify`.</summary>
        public static async Task<(int Status, byte[] Body)> AnswerAsync(string soap, Func<string> identify)
        {
            if (client is null) return (200, Encoding.UTF8.GetBytes(identify()));
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(soap));
            content.Headers.TryAddWithoutValidation("Content-Type", "application/soap+xml;charset=UTF-8");
            using HttpResponseMessage reply = await client.PostAsync(url, content);
            return ((int)reply.StatusCode, await reply.Content.ReadAsByteArrayAsync());
        }
    }

    static class Connection
    {
        const string Boundary = "Encrypted Boundary";
        const string Soap = "application/soap+xml;charset=UTF-8";

        public static async Task ServeAsync(int id, TcpClient client, X509Certificate2? tls, X509Certificate2 credsspCertificate)
        {
            client.NoDelay = true;
            Stream stream = client.GetStream();
            ChannelBinding? binding = null;
            if (tls is not null)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsServerAsync(tls);
                // .NET on Linux cannot give a server its own endpoint binding (GetChannelBinding(Endpoint)
                // asks OpenSSL for the peer's certificate and throws), so it is made here.
                binding = new EndpointBinding(tls);
                stream = ssl;
            }
            stream = new BufferedStream(stream);
            NegotiateAuthentication? auth = null;
            CredSspSession? credssp = null;
            string scheme = "";
            bool authenticated = false;
            while (true)
            {
                Request? request = await ReadAsync(stream);
                if (request is null) return;
                bool close = request.Path.EndsWith("/close", StringComparison.Ordinal);
                List<(string, string)> closing = close ? [("Connection", "close")] : [];
                if (Upstream.AllowBasic && request.Header("Authorization") is { } basic && basic.StartsWith("Basic ", StringComparison.Ordinal))
                {
                    (int code, byte[] reply) = await Upstream.ForwardBasicAsync(basic, request.Body);
                    await WriteAsync(stream, code, closing, Soap, reply);
                    if (close) return;
                    continue;
                }
                if (!authenticated)
                {
                    if (request.Body.Length > 0)
                    {
                        Console.Error.WriteLine($"connection {id}: VIOLATION a body of {request.Body.Length} bytes before authentication was complete");
                        await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("a body was sent before authentication was complete"));
                        return;
                    }
                    string? authorization = request.Header("Authorization");
                    int space = authorization?.IndexOf(' ') ?? -1;
                    if (authorization is null || space < 0)
                    {
                        await WriteAsync(stream, 401, Offered, null, []);
                        continue;
                    }
                    string requested = authorization[..space];
                    if (requested == "CredSSP" && auth is null)
                    {
                        credssp ??= new CredSspSession(id, credsspCertificate, request.Path);
                        (byte[] records, bool done) = await credssp.StepAsync(Convert.FromBase64String(authorization[(space + 1)..].Trim()));
                        if (done && credssp.Identity is not null)
                        {
                            authenticated = true;
                            scheme = requested;
                            await WriteAsync(stream, 200, records.Length > 0 ? [("WWW-Authenticate", $"CredSSP {Convert.ToBase64String(records)}")] : [], null, []);
                        }
                        else if (!done || credssp.Refused)
                        {
                            await WriteAsync(stream, 401, [("WWW-Authenticate", $"CredSSP {Convert.ToBase64String(records)}")], null, []);
                            if (done) credssp = null;
                        }
                        else
                        {
                            credssp = null;
                            await WriteAsync(stream, 401, Offered, null, []);
                        }
                        continue;
                    }
                    if (auth is null)
                    {
                        scheme = requested;
                        auth = new NegotiateAuthentication(new NegotiateAuthenticationServerOptions
                        {
                            Package = scheme == "Kerberos" ? "Kerberos" : "Negotiate",
                            RequiredProtectionLevel = ProtectionLevel.EncryptAndSign,
                            // Over TLS the context is bound to this certificate (as WinRM's
                            // CbtHardeningLevel Strict). An ExtendedProtectionPolicy throws
                            // PlatformNotSupportedException on Linux; the binding alone goes to
                            // gss_accept_sec_context, whose mechanisms compare it with the client's.
                            Binding = binding,
                        });
                    }
                    byte[]? blob = auth.GetOutgoingBlob(Convert.FromBase64String(authorization[(space + 1)..].Trim()), out NegotiateAuthenticationStatusCode status);
                    var challenge = blob is { Length: > 0 } ? new List<(string, string)> { ("WWW-Authenticate", $"{scheme} {Convert.ToBase64String(blob)}") } : [];
                    if (status == NegotiateAuthenticationStatusCode.ContinueNeeded)
                    {
                        await WriteAsync(stream, 401, challenge, null, []);
                        continue;
                    }
                    if (status == NegotiateAuthenticationStatusCode.Completed)
                    {
                        authenticated = true;
                        Console.Error.WriteLine($"connection {id}: authenticated {auth.Package} {auth.RemoteIdentity.Name} (signed {auth.IsSigned}, encrypted {auth.IsEncrypted}, mutual {auth.IsMutuallyAuthenticated})");
                        // On /wsman/no-final-token the server's last token (Kerberos' AP-REP, which proves
                        // its identity) is left out: a client must refuse to go on.
                        await WriteAsync(stream, 200, request.Path.EndsWith("/no-final-token", StringComparison.Ordinal) ? [] : challenge, null, []);
                        continue;
                    }
                    Console.Error.WriteLine($"connection {id}: refused ({status})");
                    auth.Dispose();
                    auth = null;
                    await WriteAsync(stream, 401, Offered, null, []);
                    continue;
                }
                if (credssp is not null)
                {
                    if (tls is not null)
                        await AnswerClearAsync(id, stream, request, credssp.Identity!, closing);
                    else
                        await AnswerCredSspAsync(id, stream, request, credssp);
                    continue;
                }
                if (tls is not null)
                    await AnswerClearAsync(id, stream, request, $"{auth!.Package} {auth.RemoteIdentity.Name}", closing);
                else
                    await AnswerAsync(id, stream, request, auth!, scheme, closing);
                if (close) return;
            }
        }

        /// <summary>The schemes a 401 without a token offers.</summary>
        static readonly List<(string, string)> Offered = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "Kerberos"), ("WWW-Authenticate", "CredSSP")];

        /// <summary>After CredSSP over HTTP: a request sealed with the CredSSP session, answered sealed.</summary>
        static async Task AnswerCredSspAsync(int id, Stream stream, Request request, CredSspSession session)
        {
            string contentType = request.Header("Content-Type") ?? "";
            bool multipart = contentType.StartsWith("multipart/encrypted", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("multipart/x-multi-encrypted", StringComparison.OrdinalIgnoreCase);
            if (!multipart || !contentType.Contains($"protocol=\"{CredSspSession.Protocol}\"", StringComparison.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine($"connection {id}: VIOLATION a CredSSP request to {request.Path} in clear text or sealed for another protocol ({contentType})");
                await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("requests must be encrypted"));
                return;
            }
            var opened = await session.OpenBodyAsync(contentType, request.Body);
            if (opened is not { } o || !Encoding.UTF8.GetString(o.Plain).Contains("Envelope", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"connection {id}: VIOLATION a CredSSP request that does not open");
                await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("the request does not decrypt"));
                return;
            }
            Console.Error.WriteLine($"connection {id}: sealed CredSSP request of {o.Plain.Length} bytes ({contentType.Split(';')[0]})");
            byte[] plain = Encoding.UTF8.GetBytes(Identify(o.Plain.Length, session.Identity!));
            if (request.Path.EndsWith("/clear-reply", StringComparison.Ordinal))
            {
                await WriteAsync(stream, 200, [], Soap, plain);
                return;
            }
            (string sealedType, byte[] body) = await session.SealBodyAsync(Soap, plain);
            await WriteAsync(stream, 200, [], sealedType, body);
        }

        /// <summary>Over TLS: a SOAP request in clear text (TLS protects it), answered likewise.</summary>
        static async Task AnswerClearAsync(int id, Stream stream, Request request, string who, List<(string, string)> headers)
        {
            string contentType = request.Header("Content-Type") ?? "";
            if (!contentType.StartsWith("application/soap+xml", StringComparison.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine($"connection {id}: VIOLATION over TLS a request of type {contentType}");
                await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("over HTTPS requests are SOAP"));
                return;
            }
            (int code, byte[] reply) = await Upstream.AnswerAsync(Encoding.UTF8.GetString(request.Body), () => Identify(request.Body.Length, who));
            await WriteAsync(stream, code, headers, Soap, reply);
        }

        static string Identify(int length, NegotiateAuthentication auth) => Identify(length, $"{auth.Package} {auth.RemoteIdentity.Name}");

        static string Identify(int length, string who) =>
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsmid=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\">"
                + "<s:Header/><s:Body><wsmid:IdentifyResponse>"
                + $"<wsmid:ProtocolVersion>{length}</wsmid:ProtocolVersion>"
                + "<wsmid:ProductVendor>rsess-negotiate</wsmid:ProductVendor>"
                + $"<wsmid:ProductVersion>{SecurityElement(who)}</wsmid:ProductVersion>"
                + "</wsmid:IdentifyResponse></s:Body></s:Envelope>";

        /// <summary>Opens a sealed request and answers it sealed (or, on /wsman/clear-reply, in clear text).</summary>
        static async Task AnswerAsync(int id, Stream stream, Request request, NegotiateAuthentication auth, string scheme, List<(string, string)> headers)
        {
            string protocol = scheme == "Kerberos" ? "application/HTTP-Kerberos-session-encrypted" : "application/HTTP-SPNEGO-session-encrypted";
            bool ntlm = auth.Package == "NTLM";
            string contentType = request.Header("Content-Type") ?? "";
            if (!contentType.StartsWith("multipart/encrypted", StringComparison.OrdinalIgnoreCase) || !contentType.Contains($"protocol=\"{protocol}\"", StringComparison.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine($"connection {id}: VIOLATION a request to {request.Path} in clear text or sealed for another protocol ({contentType})");
                await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("requests must be encrypted"));
                return;
            }
            (int length, byte[] signature, byte[] data) = Parse(request.Body);
            // What the client's signature is: NTLM's 16 bytes; Kerberos' token header (RFC 4121 §4.2.6.2)
            // with the right-rotation count in bytes 6-7 (SSPI: 28, the trailer rotated into the header).
            string rrc = !ntlm && signature.Length >= 16 ? $" rrc {(signature[6] << 8) | signature[7]}" : "";
            Console.Error.WriteLine($"connection {id}: sealed {auth.Package} request, signature {signature.Length} bytes{rrc}");
            if (ntlm && !(signature.Length == 16 && signature[0] == 1 && signature[1] == 0 && signature[2] == 0 && signature[3] == 0))
            {
                Console.Error.WriteLine($"connection {id}: VIOLATION the signature part of a sealed NTLM request is not an NTLM signature");
                await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("the signature is not an NTLM signature"));
                return;
            }
            byte[] token = [.. signature, .. data];
            var opened = new ArrayBufferWriter<byte>();
            NegotiateAuthenticationStatusCode status = auth.Unwrap(token, opened, out bool wasEncrypted);
            if (status != NegotiateAuthenticationStatusCode.Completed || !wasEncrypted || opened.WrittenCount != length)
            {
                Console.Error.WriteLine($"connection {id}: VIOLATION a sealed request that does not open ({status}, encrypted {wasEncrypted}, {opened.WrittenCount} bytes of {length})");
                await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("the request does not decrypt"));
                return;
            }
            string soap = Encoding.UTF8.GetString(opened.WrittenSpan);
            if (!soap.Contains("Envelope", StringComparison.Ordinal))
            {
                await WriteAsync(stream, 400, [], "text/plain", Encoding.UTF8.GetBytes("not a SOAP envelope"));
                return;
            }
            (int code, byte[] plain) = await Upstream.AnswerAsync(soap, () => Identify(length, auth));
            if (request.Path.EndsWith("/clear-reply", StringComparison.Ordinal))
            {
                await WriteAsync(stream, code, headers, Soap, plain);
                return;
            }
            var sealedWriter = new ArrayBufferWriter<byte>();
            status = auth.Wrap(plain, sealedWriter, true, out bool isEncrypted);
            if (status != NegotiateAuthenticationStatusCode.Completed || !isEncrypted) throw new InvalidOperationException($"Wrap failed: {status}");
            byte[] wrapped = sealedWriter.WrittenSpan.ToArray();
            (byte[] sig, byte[] payload) = (wrapped[..16], wrapped[16..]);
            await WriteAsync(stream, code, headers, $"multipart/encrypted;protocol=\"{protocol}\";boundary=\"{Boundary}\"", Seal(protocol, plain.Length, sig, payload));
        }

        static string SecurityElement(string text) => System.Security.SecurityElement.Escape(text) ?? "";

        static byte[] Seal(string protocol, int length, byte[] signature, byte[] data)
        {
            var body = new MemoryStream();
            void Text(string s) { byte[] b = Encoding.ASCII.GetBytes(s); body.Write(b); }
            Text($"--{Boundary}\r\n\tContent-Type: {protocol}\r\n\tOriginalContent: type={Soap};Length={length}\r\n--{Boundary}\r\n\tContent-Type: application/octet-stream\r\n");
            body.Write(BitConverter.GetBytes(signature.Length));
            body.Write(signature);
            body.Write(data);
            Text($"--{Boundary}--\r\n");
            return body.ToArray();
        }

        /// <summary>Reads a sealed body: the announced length, the signature and the encrypted data.</summary>
        static (int Length, byte[] Signature, byte[] Data) Parse(byte[] body)
        {
            string head = Encoding.Latin1.GetString(body);
            int lengthAt = head.IndexOf("Length=", StringComparison.Ordinal) + "Length=".Length;
            int lengthEnd = head.IndexOf("\r\n", lengthAt, StringComparison.Ordinal);
            int length = int.Parse(head[lengthAt..lengthEnd]);
            const string octet = "\tContent-Type: application/octet-stream\r\n";
            int start = head.IndexOf(octet, StringComparison.Ordinal) + octet.Length;
            int end = head.LastIndexOf($"--{Boundary}--", StringComparison.Ordinal);
            int signatureLength = BitConverter.ToInt32(body, start);
            byte[] signature = body[(start + 4)..(start + 4 + signatureLength)];
            byte[] data = body[(start + 4 + signatureLength)..end];
            return (length, signature, data);
        }

        static async Task<Request?> ReadAsync(Stream stream)
        {
            var line = new List<byte>();
            var lines = new List<string>();
            while (true)
            {
                int b = stream.ReadByte();
                if (b < 0) return null;
                if (b == '\n')
                {
                    string text = Encoding.Latin1.GetString(line.ToArray()).TrimEnd('\r');
                    line.Clear();
                    if (text.Length == 0) break;
                    lines.Add(text);
                    continue;
                }
                line.Add((byte)b);
            }
            string path = lines[0].Split(' ')[1];
            var headers = lines.Skip(1).Select(l => { int c = l.IndexOf(':'); return (l[..c].Trim(), l[(c + 1)..].Trim()); }).ToList();
            var request = new Request(path, headers, []);
            int length = int.Parse(request.Header("Content-Length") ?? "0");
            byte[] body = new byte[length];
            await stream.ReadExactlyAsync(body);
            return request with { Body = body };
        }

        static async Task WriteAsync(Stream stream, int status, List<(string Name, string Value)> headers, string? contentType, byte[] body)
        {
            string reason = status switch { 200 => "OK", 400 => "Bad Request", 401 => "Unauthorized", _ => "Error" };
            var head = new StringBuilder($"HTTP/1.1 {status} {reason}\r\n");
            foreach ((string name, string value) in headers) head.Append($"{name}: {value}\r\n");
            if (contentType is not null) head.Append($"Content-Type: {contentType}\r\n");
            head.Append($"Content-Length: {body.Length}\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
            await stream.WriteAsync(body);
            await stream.FlushAsync();
        }
    }
}
