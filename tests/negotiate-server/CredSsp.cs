// The CredSSP side of rsess-negotiate (MS-CSSP, WinRM's `CredSSP` scheme): per HTTP connection, a TLS
// session (SslStream) over an in-memory stream whose bytes travel in the Authorization and
// WWW-Authenticate headers, and inside it the CredSSP conversation written as if over a socket:
//   1. the TLS handshake with this server's certificate;
//   2. TSRequests (System.Formats.Asn1) carrying SPNEGO tokens, accepted with NegotiateAuthentication
//      (the system GSSAPI: NTLM with gss-ntlmssp's user file, Kerberos with the keytab);
//   3. the client's pubKeyAuth (version 5+: SHA-256 of "CredSSP Client-To-Server Binding Hash\0", the
//      client's nonce and the certificate's SubjectPublicKey), which must match, answered with the
//      Server-To-Client one;
//   4. the TSCredentials in authInfo: the delegated domain, user and password, checked against the
//      realm's users (tests/kdc.sh: RSESS\ann from NTLM_USER_FILE, ann@RSESS.TEST with its Kerberos
//      password). A refused logon is answered with a TSRequest whose errorCode is STATUS_LOGON_FAILURE.
// Sealed values are gss_wrap tokens as they are (NTLM: the 16-byte signature first, as SSPI writes it).
// Paths change the server's side for the tests: /credssp-tls12 allows only TLS 1.2; /credssp-v3 speaks TSRequest version 3 (the older proof:
// the key itself, answered with its first byte plus one); /credssp-wrong-proof answers with a proof
// that does not match the certificate (a client must stop before it delegates anything).
// Once complete, over HTTP every request must be sealed as application/HTTP-CredSSP-session-encrypted
// (a 4-byte trailer length, which must be this session's, then TLS records of this session); replies
// are sealed likewise.
using System.Buffers;
using System.Formats.Asn1;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace RemoteSessions.NegotiateServer
{
    /// <summary>
    /// A stream over memory: what is written is collected for the next HTTP reply; reads take the bytes
    /// fed from the last request, and when none are left they signal <see cref="Starved"/> and wait.
    /// </summary>
    sealed class Duplex : Stream
    {
        readonly object gate = new();
        readonly MemoryStream output = new();
        byte[] input = [];
        int position;
        TaskCompletionSource arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource starved = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when a read finds nothing left to read.</summary>
        public Task Starved { get { lock (gate) return starved.Task; } }

        public void Feed(byte[] data)
        {
            TaskCompletionSource wake;
            lock (gate)
            {
                input = [.. input.AsSpan(position), .. data];
                position = 0;
                starved = new(TaskCreationOptions.RunContinuationsAsynchronously);
                wake = arrived;
            }
            wake.TrySetResult();
        }

        public byte[] TakeOutput()
        {
            lock (gate)
            {
                byte[] bytes = output.ToArray();
                output.SetLength(0);
                return bytes;
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                Task wait;
                lock (gate)
                {
                    int left = input.Length - position;
                    if (left > 0)
                    {
                        int n = Math.Min(left, buffer.Length);
                        input.AsMemory(position, n).CopyTo(buffer);
                        position += n;
                        return n;
                    }
                    arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = arrived.Task;
                    starved.TrySetResult();
                }
                await wait;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (gate) output.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) { lock (gate) output.Write(buffer, offset, count); }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>One TSRequest (MS-CSSP 2.2.1).</summary>
    sealed class TsRequest
    {
        public int Version = 6;
        public List<byte[]> NegoTokens = [];
        public byte[]? AuthInfo, PubKeyAuth, ClientNonce;
        public uint? ErrorCode;

        public byte[] Encode()
        {
            var w = new AsnWriter(AsnEncodingRules.DER);
            using (w.PushSequence())
            {
                using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0))) w.WriteInteger(Version);
                if (NegoTokens.Count > 0)
                {
                    using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1)))
                    using (w.PushSequence())
                        foreach (byte[] t in NegoTokens)
                            using (w.PushSequence())
                            using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
                                w.WriteOctetString(t);
                }
                void Octets(int tag, byte[]? value)
                {
                    if (value is null) return;
                    using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, tag))) w.WriteOctetString(value);
                }
                Octets(2, AuthInfo);
                Octets(3, PubKeyAuth);
                if (ErrorCode is uint code)
                    using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 4))) w.WriteInteger(unchecked((int)code));
                Octets(5, ClientNonce);
            }
            return w.Encode();
        }

        public static TsRequest Decode(byte[] der)
        {
            var r = new AsnReader(der, AsnEncodingRules.DER);
            AsnReader s = r.ReadSequence();
            r.ThrowIfNotEmpty();
            var ts = new TsRequest();
            ts.Version = (int)s.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadInteger();
            bool Next(int tag) => s.HasData && s.PeekTag() == new Asn1Tag(TagClass.ContextSpecific, tag, true);
            if (Next(1))
            {
                AsnReader list = s.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1)).ReadSequence();
                while (list.HasData) ts.NegoTokens.Add(list.ReadSequence().ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadOctetString());
            }
            if (Next(2)) ts.AuthInfo = s.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 2)).ReadOctetString();
            if (Next(3)) ts.PubKeyAuth = s.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 3)).ReadOctetString();
            if (Next(4)) ts.ErrorCode = unchecked((uint)(long)s.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 4)).ReadInteger());
            if (Next(5)) ts.ClientNonce = s.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 5)).ReadOctetString();
            s.ThrowIfNotEmpty();
            return ts;
        }
    }

    /// <summary>The CredSSP state of one HTTP connection.</summary>
    sealed class CredSspSession
    {
        public const string Protocol = "application/HTTP-CredSSP-session-encrypted";
        const uint LogonFailure = 0xC000006D;
        readonly int id;
        readonly string path;
        readonly Duplex duplex = new();
        readonly SslStream ssl;
        readonly Task conversation;
        NegotiateAuthentication? auth;

        /// <summary>"NTLM RSESS\ann" once the credentials were delegated and checked.</summary>
        public string? Identity { get; private set; }
        /// <summary>A refusal the last leg answered with (then the conversation is over).</summary>
        public bool Refused { get; private set; }

        public CredSspSession(int id, X509Certificate2 certificate, string path)
        {
            this.id = id;
            this.path = path;
            ssl = new SslStream(duplex, leaveInnerStreamOpen: true);
            conversation = RunAsync(certificate);
        }

        /// <summary>One HTTP leg: feeds the client's bytes, runs the conversation until it waits for more
        /// or ends; returns the bytes for the reply and whether the conversation is over.</summary>
        public async Task<(byte[] Reply, bool Done)> StepAsync(byte[] token)
        {
            duplex.Feed(token);
            await Task.WhenAny(duplex.Starved, conversation);
            if (conversation.IsFaulted) Console.Error.WriteLine($"connection {id}: credssp failed: {conversation.Exception!.InnerException!.GetType().Name}: {conversation.Exception.InnerException.Message}");
            return (duplex.TakeOutput(), conversation.IsCompleted);
        }

        async Task RunAsync(X509Certificate2 certificate)
        {
            var tlsOptions = new SslServerAuthenticationOptions { ServerCertificate = certificate };
            if (path.EndsWith("/credssp-tls12", StringComparison.Ordinal)) tlsOptions.EnabledSslProtocols = SslProtocols.Tls12;
            await ssl.AuthenticateAsServerAsync(tlsOptions);
            Console.Error.WriteLine($"connection {id}: credssp tls {ssl.SslProtocol} {ssl.NegotiatedCipherSuite}");
            byte[] publicKey = certificate.GetPublicKey();
            auth = new NegotiateAuthentication(new NegotiateAuthenticationServerOptions { Package = "Negotiate", RequiredProtectionLevel = ProtectionLevel.EncryptAndSign });
            int version = path.EndsWith("/credssp-v3", StringComparison.Ordinal) ? 3 : 6;
            while (true)
            {
                TsRequest request = TsRequest.Decode(await ReadRecordAsync());
                var answer = new TsRequest { Version = version };
                if (request.NegoTokens.Count > 0)
                {
                    byte[]? blob = auth.GetOutgoingBlob(request.NegoTokens[0], out NegotiateAuthenticationStatusCode status);
                    if (status is not (NegotiateAuthenticationStatusCode.Completed or NegotiateAuthenticationStatusCode.ContinueNeeded))
                    {
                        Console.Error.WriteLine($"connection {id}: credssp refused ({status})");
                        await RefuseAsync();
                        return;
                    }
                    if (blob is { Length: > 0 }) answer.NegoTokens.Add(blob);
                }
                if (request.PubKeyAuth is not null)
                {
                    if (!auth.IsAuthenticated) throw new InvalidOperationException("pubKeyAuth before the context was complete");
                    byte[] proof = Open(request.PubKeyAuth);
                    byte[] expected, answerProof;
                    if (version >= 5)
                    {
                        byte[] nonce = request.ClientNonce ?? throw new InvalidOperationException("version 5+ needs a clientNonce");
                        expected = SHA256.HashData([.. Encoding.ASCII.GetBytes("CredSSP Client-To-Server Binding Hash\0"), .. nonce, .. publicKey]);
                        answerProof = SHA256.HashData([.. Encoding.ASCII.GetBytes("CredSSP Server-To-Client Binding Hash\0"), .. nonce, .. publicKey]);
                    }
                    else
                    {
                        if (request.ClientNonce is not null) throw new InvalidOperationException("a clientNonce to a version 3 server");
                        expected = publicKey;
                        answerProof = [(byte)(publicKey[0] + 1), .. publicKey[1..]];
                    }
                    if (!proof.AsSpan().SequenceEqual(expected))
                    {
                        Console.Error.WriteLine($"connection {id}: VIOLATION credssp pubKeyAuth does not match the certificate");
                        await RefuseAsync();
                        return;
                    }
                    if (path.EndsWith("/credssp-wrong-proof", StringComparison.Ordinal))
                    {
                        answerProof[^1] ^= 1;
                        Console.Error.WriteLine($"connection {id}: credssp sends a wrong proof");
                    }
                    Console.Error.WriteLine($"connection {id}: credssp proof checked (version {version})");
                    answer.PubKeyAuth = Seal(answerProof);
                }
                if (request.AuthInfo is not null)
                {
                    (string domain, string user, string password) = ReadCredentials(Open(request.AuthInfo));
                    string who = domain.Length > 0 ? $"{domain}\\{user}" : user;
                    bool matches = Known(domain, user, password);
                    Console.Error.WriteLine($"connection {id}: credssp delegated {who} (password {(matches ? "matches" : "does not match")}) over {auth.Package}");
                    if (!matches)
                    {
                        await RefuseAsync();
                        return;
                    }
                    Identity = $"CredSSP {auth.Package} {who}";
                    return;
                }
                await ssl.WriteAsync(answer.Encode());
            }
        }

        async Task RefuseAsync()
        {
            Refused = true;
            await ssl.WriteAsync(new TsRequest { ErrorCode = LogonFailure }.Encode());
        }

        /// <summary>Reads one TLS record's plaintext (the client writes each TSRequest at once).</summary>
        async Task<byte[]> ReadRecordAsync()
        {
            var buffer = new byte[65536];
            int n = await ssl.ReadAsync(buffer);
            if (n == 0) throw new EndOfStreamException("the client closed the TLS session");
            return buffer[..n];
        }

        /// <summary>gss_unwrap of a sealed value.</summary>
        byte[] Open(byte[] wire)
        {
            byte[] token = wire;
            var opened = new ArrayBufferWriter<byte>();
            NegotiateAuthenticationStatusCode status = auth!.Unwrap(token, opened, out bool encrypted);
            if (status != NegotiateAuthenticationStatusCode.Completed || !encrypted) throw new InvalidOperationException($"a CredSSP value does not open ({status}, encrypted {encrypted})");
            return opened.WrittenSpan.ToArray();
        }

        /// <summary>gss_wrap of a value.</summary>
        byte[] Seal(byte[] message)
        {
            var sealedWriter = new ArrayBufferWriter<byte>();
            NegotiateAuthenticationStatusCode status = auth!.Wrap(message, sealedWriter, true, out bool encrypted);
            if (status != NegotiateAuthenticationStatusCode.Completed || !encrypted) throw new InvalidOperationException($"Wrap failed: {status}");
            byte[] token = sealedWriter.WrittenSpan.ToArray();
            return token;
        }

        static (string Domain, string User, string Password) ReadCredentials(byte[] der)
        {
            var r = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            if (r.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadInteger() != 1) throw new InvalidOperationException("not password credentials");
            byte[] inner = r.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1)).ReadOctetString();
            var p = new AsnReader(inner, AsnEncodingRules.DER).ReadSequence();
            string Field(int tag) => Encoding.Unicode.GetString(p.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, tag)).ReadOctetString());
            return (Field(0), Field(1), Field(2));
        }

        /// <summary>Whether the delegated password is the realm's (tests/kdc.sh): an entry of the NTLM user
        /// file, or ann@RSESS.TEST's Kerberos password.</summary>
        static bool Known(string domain, string user, string password)
        {
            if (domain.Length == 0 && string.Equals(user, "ann@RSESS.TEST", StringComparison.OrdinalIgnoreCase)) return password == "Ann-Krb-Pa55";
            string? file = Environment.GetEnvironmentVariable("NTLM_USER_FILE");
            if (file is null || !File.Exists(file)) return false;
            return File.ReadAllLines(file).Select(l => l.Split(':', 3)).Any(f => f.Length == 3
                && string.Equals(f[0], domain, StringComparison.OrdinalIgnoreCase) && string.Equals(f[1], user, StringComparison.OrdinalIgnoreCase) && f[2] == password);
        }

        /// <summary>The trailer length of this session's records (SSPI's cbTrailer): 17 in TLS 1.3 (tag and
        /// inner content type), 16 for TLS 1.2's AEAD suites.</summary>
        int Trailer => ssl.SslProtocol == SslProtocols.Tls13 ? 17 : 16;

        /// <summary>Opens a sealed request body: each part's TLS records, decrypted; the announced lengths
        /// must match. Null (and a logged violation) when it does not open.</summary>
        public async Task<(string Type, byte[] Plain)?> OpenBodyAsync(string contentType, byte[] body)
        {
            var parts = SplitParts(body);
            var plain = new MemoryStream();
            string type = "";
            foreach ((string original, int length, int trailer, byte[] records) in parts)
            {
                if (trailer != Trailer) { Console.Error.WriteLine($"connection {id}: VIOLATION a sealed part announces a trailer of {trailer} bytes, not {Trailer} ({ssl.SslProtocol})"); return null; }
                type = original;
                duplex.Feed(records);
                var buffer = new byte[length];
                int got = 0;
                while (got < length)
                {
                    Task<int> read = ssl.ReadAsync(buffer, got, length - got);
                    if (await Task.WhenAny(read, duplex.Starved) != read) { Console.Error.WriteLine($"connection {id}: VIOLATION a sealed part holds less than its {length} bytes"); return null; }
                    int n = await read;
                    if (n == 0) return null;
                    got += n;
                }
                plain.Write(buffer);
            }
            return (type, plain.ToArray());
        }

        /// <summary>Seals a reply: one part per 16 KiB, each a 4-byte trailer length and the records.</summary>
        public async Task<(string ContentType, byte[] Body)> SealBodyAsync(string soapType, byte[] plain)
        {
            const string boundary = "Encrypted Boundary";
            var body = new MemoryStream();
            void Text(string s) => body.Write(Encoding.ASCII.GetBytes(s));
            int parts = 0;
            for (int at = 0; at < plain.Length || parts == 0; at += 16384)
            {
                int n = Math.Min(16384, plain.Length - at);
                await ssl.WriteAsync(plain.AsMemory(at, n));
                byte[] records = duplex.TakeOutput();
                Text($"--{boundary}\r\n\tContent-Type: {Protocol}\r\n\tOriginalContent: type={soapType};Length={n}\r\n--{boundary}\r\n\tContent-Type: application/octet-stream\r\n");
                body.Write(BitConverter.GetBytes(Trailer));
                body.Write(records);
                parts++;
            }
            Text($"--{boundary}--\r\n");
            string kind = parts > 1 ? "multipart/x-multi-encrypted" : "multipart/encrypted";
            return ($"{kind};protocol=\"{Protocol}\";boundary=\"{boundary}\"", body.ToArray());
        }

        /// <summary>The parts of a sealed body: original type, length, and the TLS records after the 4-byte
        /// trailer length (read by their own record headers, not by searching for boundaries).</summary>
        static List<(string Type, int Length, int Trailer, byte[] Records)> SplitParts(byte[] body)
        {
            var parts = new List<(string, int, int, byte[])>();
            string text = Encoding.Latin1.GetString(body);
            const string octet = "\tContent-Type: application/octet-stream\r\n";
            int at = 0;
            while (true)
            {
                int original = text.IndexOf("OriginalContent: type=", at, StringComparison.Ordinal);
                if (original < 0) break;
                int lengthAt = text.IndexOf("Length=", original, StringComparison.Ordinal) + "Length=".Length;
                int lengthEnd = text.IndexOf("\r\n", lengthAt, StringComparison.Ordinal);
                string type = text[(original + "OriginalContent: type=".Length)..(lengthAt - "Length=".Length)].TrimEnd(';');
                int length = int.Parse(text[lengthAt..lengthEnd]);
                int start = text.IndexOf(octet, lengthEnd, StringComparison.Ordinal) + octet.Length + 4;
                int trailer = BitConverter.ToInt32(body, start - 4);
                int end = start;
                while (end + 5 <= body.Length && body[end] == 23) end += 5 + (body[end + 3] << 8 | body[end + 4]);
                parts.Add((type, length, trailer, body[start..end]));
                at = end;
            }
            return parts;
        }
    }
}
