// rsess-wsman-endpoint: a WS-Management (WinRS) endpoint on 127.0.0.1 whose shells are PowerShell's own
// server side of WS-Man remoting, run inside the real pwsh (Start-Endpoint.ps1 loads this library and
// calls Endpoint.Run). HTTP and HTTPS (a self-signed certificate made at startup), HTTP/1.1 keep-alive,
// each connection served on its own, Basic authentication on every request.
// Prints "listening http=<port> https=<port>" when ready; one line per event on stderr; stops at EOF on
// stdin or on SIGTERM. See README.md.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace RemoteSessions.WsmanEndpoint;

sealed class Options
{
    public string User = "";
    public string Password = "";
    public int MaxEnvelopeKb = 500;
    public int MinIdleMs = 60000;
    public int HttpPort;
    public int HttpsPort;
    public string Shim = "";

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--user": o.User = Next(); break;
                case "--password": o.Password = Next(); break;
                case "--max-envelope-kb": o.MaxEnvelopeKb = int.Parse(Next()); break;
                case "--min-idle-ms": o.MinIdleMs = int.Parse(Next()); break;
                case "--http-port": o.HttpPort = int.Parse(Next()); break;
                case "--https-port": o.HttpsPort = int.Parse(Next()); break;
                case "--shim": o.Shim = Next(); break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }
        if (o.User.Length == 0 || o.Password.Length == 0) throw new ArgumentException("--user and --password are required");
        if (o.Shim.Length == 0) o.Shim = Path.Combine(Path.GetDirectoryName(typeof(Endpoint).Assembly.Location)!, "libpsrpomiprov.so");
        return o;
    }
}

static class Log
{
    static readonly object sync = new();

    public static void Event(string line)
    {
        lock (sync)
        {
            Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line.ReplaceLineEndings(" ")}");
            Console.Error.Flush();
        }
    }
}

public static class Endpoint
{
    /// <summary>Runs the endpoint until stdin ends or SIGTERM; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        Options options;
        try { options = Options.Parse(args); }
        catch (Exception e)
        {
            Console.Error.WriteLine($"rsess-wsman-endpoint: {e.Message}");
            return 2;
        }
        Plugin.Initialize(options.Shim);
        var service = new Service(options);
        var listener = new TcpListener(IPAddress.Loopback, options.HttpPort);
        listener.Start();
        var tlsListener = new TcpListener(IPAddress.Loopback, options.HttpsPort);
        tlsListener.Start();
        X509Certificate2 certificate = Certificate();
        var stop = new ManualResetEventSlim();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        new Thread(() =>
        {
            try
            {
                using Stream stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (stdin.Read(buffer, 0, buffer.Length) > 0) { }
            }
            catch (IOException) { }
            stop.Set();
        }) { IsBackground = true }.Start();
        var server = new Server(options, service);
        _ = server.AcceptAsync(listener, null);
        _ = server.AcceptAsync(tlsListener, certificate);
        _ = service.ReapAsync();
        Console.Out.WriteLine($"listening http={((IPEndPoint)listener.LocalEndpoint).Port} https={((IPEndPoint)tlsListener.LocalEndpoint).Port}");
        Console.Out.Flush();
        stop.Wait();
        Log.Event("stopping");
        listener.Stop();
        tlsListener.Stop();
        service.CloseAll();
        return 0;
    }

    static X509Certificate2 Certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }
}

/// <summary>One HTTP/1.1 request.</summary>
sealed record HttpRequest(string Method, string Path, List<(string Name, string Value)> Headers, byte[] Body, long Length)
{
    public string? Header(string name) =>
        Headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
}

sealed class Server(Options options, Service service)
{
    const string Soap = "application/soap+xml;charset=UTF-8";
    int connections;

    public async Task AcceptAsync(TcpListener listener, X509Certificate2? tls)
    {
        while (true)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(); }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { return; }
            int id = Interlocked.Increment(ref connections);
            _ = Task.Run(async () =>
            {
                try { await ServeAsync(id, client, tls); }
                catch (Exception e) when (e is IOException or ObjectDisposedException) { }
                catch (Exception e) { Log.Event($"connection {id}: {e.GetType().Name}: {e.Message}"); }
                finally { client.Dispose(); }
            });
        }
    }

    async Task ServeAsync(int id, TcpClient client, X509Certificate2? tls)
    {
        client.NoDelay = true;
        Stream stream = client.GetStream();
        if (tls is not null)
        {
            var ssl = new SslStream(stream);
            try { await ssl.AuthenticateAsServerAsync(tls); }
            catch (Exception e) { Log.Event($"connection {id}: TLS handshake failed: {e.Message}"); return; }
            stream = ssl;
        }
        stream = new BufferedStream(stream);
        string clientIp = ((IPEndPoint)client.Client.RemoteEndPoint!).Address.ToString();
        string scheme = tls is null ? "http" : "https";
        while (true)
        {
            HttpRequest? request = await ReadAsync(stream, options.MaxEnvelopeKb * 1024L);
            if (request is null) return;
            string? host = request.Header("Host");
            string machine = host is null ? "127.0.0.1" : host.StartsWith('[') ? host[..(host.IndexOf(']') + 1)] : host.Split(':')[0];
            if (!Authorized(request, out string user))
            {
                Log.Event($"connection {id}: 401 for {request.Method} {request.Path}{(request.Header("Authorization") is null ? "" : " (wrong credentials)")}");
                await WriteAsync(stream, 401, [("WWW-Authenticate", "Basic realm=\"WSMAN\"")], null, []);
                continue;
            }
            if (request.Length > options.MaxEnvelopeKb * 1024L)
            {
                // Windows' listener refuses a request over MaxEnvelopeSizekb before WinRM reads it: HTTP 413,
                // no SOAP (its client calls that ERROR_WSMAN_HTTP_REQUEST_TOO_LARGE_STATUS, 0x80338111).
                Log.Event($"connection {id}: FAULT 413 a request of {request.Length} bytes is over MaxEnvelopeSizekb {options.MaxEnvelopeKb}");
                await WriteAsync(stream, 413, [], null, []);
                continue;
            }
            if (!request.Path.StartsWith("/wsman", StringComparison.OrdinalIgnoreCase) || request.Method != "POST")
            {
                Log.Event($"connection {id}: 404 for {request.Method} {request.Path}");
                await WriteAsync(stream, 404, [], null, []);
                continue;
            }
            SoapRequest soap;
            try { soap = SoapRequest.Parse(request.Body); }
            catch (Exception e)
            {
                Log.Event($"connection {id}: FAULT the request is not XML: {e.Message}");
                await WriteAsync(stream, 400, [], null, []);
                continue;
            }
            var caller = new Caller(user, $"{scheme}://{host ?? "127.0.0.1"}{request.Path}", soap.Locale, clientIp);
            (int status, string reply) = await AnswerAsync(id, soap, caller, machine);
            bool close = string.Equals(request.Header("Connection"), "close", StringComparison.OrdinalIgnoreCase);
            await WriteAsync(stream, status, close ? [("Connection", "close")] : [], Soap, Encoding.UTF8.GetBytes(reply));
            if (close) return;
        }
    }

    async Task<(int, string)> AnswerAsync(int id, SoapRequest soap, Caller caller, string machine)
    {
        string shellId = soap.Selectors.TryGetValue("ShellId", out string? s) ? $" shell {s}" : "";
        try
        {
            if (soap.MaxEnvelopeSize < 8192 && soap.Action.Length > 0)
                throw new FaultException("s:Sender", "w:EncodingLimit", 0x80338035, "The WS-Management service cannot process the request because the envelope size in the request is too small. ",
                    "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MinimumEnvelopeLimit");
            string reply = await service.HandleAsync(soap, caller);
            Log.Event($"connection {id}: {soap.Short}{shellId} -> 200 ({reply.Length} bytes)");
            return (200, reply);
        }
        catch (FaultException f)
        {
            Log.Event($"connection {id}: {soap.Short}{shellId} -> FAULT {f.Subcode} 0x{f.WsmanCode:X8} {f.Message.Trim()}");
            return (500, Reply.Fault(soap, f, machine));
        }
        catch (Exception e)
        {
            var f = new FaultException("s:Receiver", "w:InternalError", 1359, $"{e.GetType().Name}: {e.Message}"); // ERROR_INTERNAL_ERROR
            Log.Event($"connection {id}: {soap.Short}{shellId} -> FAULT InternalError {e}");
            return (500, Reply.Fault(soap, f, machine));
        }
    }

    bool Authorized(HttpRequest request, out string user)
    {
        user = "";
        string? header = request.Header("Authorization");
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return false;
        string decoded;
        try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())); }
        catch (FormatException) { return false; }
        int colon = decoded.IndexOf(':');
        if (colon < 0) return false;
        user = decoded[..colon];
        return user == options.User && decoded[(colon + 1)..] == options.Password;
    }

    static async Task<string?> ReadLineAsync(Stream stream, List<byte> line)
    {
        line.Clear();
        var one = new byte[1];
        while (true)
        {
            int n = await stream.ReadAsync(one);
            if (n == 0) return null;
            if (one[0] == '\n') return Encoding.Latin1.GetString(line.ToArray()).TrimEnd('\r');
            line.Add(one[0]);
            if (line.Count > 65536) throw new IOException("header line too long");
        }
    }

    /// <summary>Reads a request (Content-Length or chunked). A body over `limit` is read and dropped (its length kept).</summary>
    static async Task<HttpRequest?> ReadAsync(Stream stream, long limit)
    {
        var buffer = new List<byte>();
        string? first = await ReadLineAsync(stream, buffer);
        if (first is null) return null;
        while (first.Length == 0)
        {
            first = await ReadLineAsync(stream, buffer);
            if (first is null) return null;
        }
        var headers = new List<(string, string)>();
        while (true)
        {
            string? line = await ReadLineAsync(stream, buffer) ?? throw new IOException("connection closed in the headers");
            if (line.Length == 0) break;
            int c = line.IndexOf(':');
            if (c > 0) headers.Add((line[..c].Trim(), line[(c + 1)..].Trim()));
        }
        string[] parts = first.Split(' ');
        var request = new HttpRequest(parts[0], parts.Length > 1 ? parts[1] : "/", headers, [], 0);
        if (string.Equals(request.Header("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase))
        {
            await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray());
            await stream.FlushAsync();
        }
        var body = new MemoryStream();
        long total = 0;
        async Task Take(long count)
        {
            var chunk = new byte[Math.Min(count, 65536)];
            while (count > 0)
            {
                int n = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(count, chunk.Length)));
                if (n == 0) throw new IOException("connection closed in the body");
                if (total + n <= limit + 1) body.Write(chunk, 0, n);
                total += n;
                count -= n;
            }
        }
        if (string.Equals(request.Header("Transfer-Encoding"), "chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (true)
            {
                string size = (await ReadLineAsync(stream, buffer) ?? throw new IOException("closed")).Split(';')[0].Trim();
                long n = Convert.ToInt64(size, 16);
                if (n == 0)
                {
                    while ((await ReadLineAsync(stream, buffer)) is { Length: > 0 }) { }
                    break;
                }
                await Take(n);
                await ReadLineAsync(stream, buffer);
            }
        }
        else if (long.TryParse(request.Header("Content-Length"), out long length))
        {
            await Take(length);
        }
        // A body over the limit is kept only to its limit + 1 bytes: enough to know it is too big.
        return request with { Body = body.ToArray(), Length = total };
    }

    static async Task WriteAsync(Stream stream, int status, List<(string Name, string Value)> headers, string? contentType, byte[] body)
    {
        string reason = status switch { 200 => "OK", 400 => "Bad Request", 401 => "Unauthorized", 404 => "Not Found", 413 => "Request Entity Too Large", 500 => "Internal Server Error", _ => "Error" };
        var head = new StringBuilder($"HTTP/1.1 {status} {reason}\r\nServer: Microsoft-HTTPAPI/2.0\r\n");
        foreach ((string name, string value) in headers) head.Append($"{name}: {value}\r\n");
        if (contentType is not null) head.Append($"Content-Type: {contentType}\r\n");
        head.Append($"Content-Length: {body.Length}\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        await stream.WriteAsync(body);
        await stream.FlushAsync();
    }
}
