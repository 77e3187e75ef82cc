using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>One replay server (3 HTTP ports and HTTPS) shared by the stateless tests of a class.</summary>
public sealed class ReplayServerFixture : ReplayServer
{
    public ReplayServerFixture() => Start(httpPorts: 3, https: true);
}

/// <summary>
/// The WS-Man replay server itself, over HttpClient and raw sockets: it must answer the recorded
/// requests with the recorded answers and refuse anything else, because the client's tests rely on it.
/// </summary>
public sealed class ReplayServerTests(ReplayServerFixture server) : IClassFixture<ReplayServerFixture>
{
    private static readonly string FixturesRoot =
        Environment.GetEnvironmentVariable("RSESS_FIXTURES") is { Length: > 0 } f ? f
        : Path.GetFullPath(Path.Combine(Paths.Repo, "..", "shared", "fixtures"));
    private static readonly string Curl = Path.Combine(FixturesRoot, "omi-cim", "curl");

    private static string CurlRequest(string name) => File.ReadAllText(Path.Combine(Curl, name + "-request.xml"));

    /// <summary>Every request fixture with the answer it must get first: (name, request file, status, body).</summary>
    public static IEnumerable<(string Name, string Request, int Status, string Body)> AllFixtures()
    {
        foreach (string req in Directory.GetFiles(Curl, "*-request.xml").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(req)[..^"-request.xml".Length];
            // associators/references equal the -min variants but for whitespace; the server serves the -min answers.
            string answer = name switch { "associators" or "references" => name + "-min", "pull" => "pull1", _ => name };
            var (status, body) = ReadHttp(Path.Combine(Curl, answer + "-response.http"));
            yield return (name, req, status, body);
        }
        string omicli = Path.Combine(FixturesRoot, "omi-cim", "omicli");
        foreach (string req in Directory.GetFiles(omicli, "conn*-request.xml").Order(StringComparer.Ordinal))
            yield return (Path.GetFileName(req)[..7], req, 200, File.ReadAllText(req.Replace("-request.xml", "-response.xml")));
        string posthttp = Path.Combine(FixturesRoot, "windows-cim", "omi-posthttp");
        foreach (string req in Directory.GetFiles(posthttp, "test*.request.xml").Order(StringComparer.Ordinal))
        {
            string text = File.ReadAllText(req.Replace(".request.xml", ".response.xml"));
            int start = text.IndexOf("responseContent{", StringComparison.Ordinal) + "responseContent{".Length;
            yield return (Path.GetFileName(req)[..5], req, 200, text[start..text.LastIndexOf('}')]);
        }
    }

    private static (int Status, string Body) ReadHttp(string path)
    {
        string text = File.ReadAllText(path);
        int sep = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (int.Parse(text.Split(' ', 3)[1]), text[(sep + 4)..]);
    }

    private static string NewId() => "uuid:" + Guid.NewGuid().ToString().ToUpperInvariant();

    private static string WithMessageId(string xml, string id) =>
        Regex.Replace(xml, @"(<(?:\w+:)?MessageID>)\s*[^<]*(</)", m => m.Groups[1].Value + id + m.Groups[2].Value);

    /// <summary>The body with the values that legitimately change per request blanked.</summary>
    private static string Normalize(string body) =>
        Regex.Replace(body, @"(<(?:[\w-]+:)?(?:MessageID|RelatesTo|EnumerationContext)>)[^<]*<", "$1#<");

    private static string? RelatesTo(string body) =>
        Regex.Match(body, @"<(?:[\w-]+:)?RelatesTo>([^<]*)<") is { Success: true } m ? m.Groups[1].Value : null;

    private static string ReasonText(string body) =>
        XDocument.Parse(body).Descendants(XName.Get("Text", "http://www.w3.org/2003/05/soap-envelope")).Single().Value;

    private HttpClient Client(TimeSpan? timeout = null, bool pin = true) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            // Trust exactly the certificate the server wrote, as a client would through SSL_CERT_FILE.
            RemoteCertificateValidationCallback = pin ? PinnedToServerPem : null,
        },
    }) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    private bool PinnedToServerPem(object sender, X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors)
    {
        using X509Certificate2 pinned = X509Certificate2.CreateFromPem(File.ReadAllText(server.CertificatePath!));
        // Only the chain is untrusted (self-signed); the name must match through the SAN.
        return cert is not null && cert.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData)
            && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
    }

    private static async Task<(int Status, string Body, HttpResponseMessage Response)> PostAsync(
        HttpClient client, string url, string xml, string? user = "rsess", string? password = "Replay-Pa55",
        string? userAgent = null, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(xml, Encoding.UTF8, "application/soap+xml"),
        };
        if (user is not null)
            request.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        if (userAgent is not null) request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        HttpResponseMessage response = await client.SendAsync(request, ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct), response);
    }

    [Fact]
    public async Task Every_fixture_request_gets_its_recorded_answer_with_RelatesTo_set()
    {
        using ReplayServer fresh = new ReplayServer().Start(https: true);
        using HttpClient client = new(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        int count = 0;
        foreach (var (name, path, status, body) in AllFixtures())
        {
            string id = NewId();
            string url = name.Contains("-https") ? $"https://localhost:{fresh.HttpsPort}/wsman" : fresh.Url();
            string? ua = name.Contains("-winrmua") ? "Microsoft WinRM Client" : null;
            var (gotStatus, gotBody, response) = await PostAsync(client, url, WithMessageId(File.ReadAllText(path), id), userAgent: ua);
            Assert.True(status == gotStatus, $"{name}: status {gotStatus}, recorded {status}; {gotBody}");
            Assert.Equal("application/soap+xml; charset=UTF-8", response.Content.Headers.ContentType?.ToString().Replace(";charset", "; charset"));
            Assert.True(Normalize(body) == Normalize(gotBody), $"{name}: body differs from the recording:\n{gotBody}");
            if (RelatesTo(body) is not null) Assert.Equal(id, RelatesTo(gotBody));
            count++;
        }
        Assert.Equal(45, count);
        Assert.DoesNotContain(fresh.Requests(), l => l.StartsWith("NOMATCH"));
    }

    [Theory]
    [InlineData("get", "<w:Selector Name=\"Key\">3<", "<w:Selector Name=\"Key\">4<", "closest is 'get'", "w:SelectorSet: fixture has {__cimnamespace=root/cimv2, key=3}, request has {__cimnamespace=root/cimv2, key=4}")]
    [InlineData("get", "root/cimv2", "root/other", "closest is 'get'", "w:SelectorSet")]
    [InlineData("enumerate-wql", "First = 'James'", "First = 'John'", "closest is 'enumerate-wql'", "s:Body/Enumerate/Filter: text: fixture has 'SELECT Key,Last FROM MSFT_President WHERE First = 'James'', request has")]
    [InlineData("enumerate-wql", "Dialect=\"http://schemas.microsoft.com/wbem/wsman/1/WQL\"", "Dialect=\"http://schemas.microsoft.com/wbem/wsman/1/WQL2\"", "closest is 'enumerate-wql'", "s:Body/Enumerate/Filter: attributes")]
    [InlineData("invoke", "<p:X>40</p:X>", "<p:X>41</p:X>", "closest is 'invoke'", "s:Body/Add_INPUT/X: text: fixture has '40', request has '41'")]
    [InlineData("invoke", "<p:Y>2.5</p:Y>", "", "closest is 'invoke'", "s:Body/Add_INPUT: request lacks child")]
    [InlineData("enumerate-epr", "<w:MaxElements>2</w:MaxElements>", "<w:MaxElements>3</w:MaxElements>", "closest is 'enumerate-epr'", "s:Body/Enumerate/MaxElements: text")]
    [InlineData("invoke", "MSFT_Person/Add<", "MSFT_Person/Subtract<", "closest is 'invoke'", "wsa:Action: fixture has 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_Person/Add'")]
    public async Task An_altered_request_gets_the_no_match_fault_naming_the_difference(string fixture, string from, string to, string closest, string difference)
    {
        string xml = CurlRequest(fixture);
        Assert.Contains(from, xml);
        using HttpClient client = Client();
        var (status, body, _) = await PostAsync(client, server.Url(), xml.Replace(from, to));
        Assert.Equal(400, status);
        string reason = ReasonText(body);
        Assert.True(reason.Contains(closest) && reason.Contains(difference), reason);
        Assert.StartsWith("replay: no fixture matches", reason);
        Assert.Contains(closest, reason);
        Assert.Contains(difference, reason);
        Assert.Contains(reason, server.Stderr);
    }

    [Fact]
    public async Task Ignored_parts_do_not_matter_but_cim_prefixes_are_the_same()
    {
        string xml = CurlRequest("get")
            .Replace("PT60.000S", "PT5S").Replace("512000", "153600").Replace("en-US", "de-DE")
            .Replace("http://127.0.0.1:15985/wsman", "http://example:5985/wsman")
            .Replace("http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/")
            .Replace("<w:Selector Name=\"__cimnamespace\">root/cimv2</w:Selector><w:Selector Name=\"Key\">3</w:Selector>",
                     "\n  <w:Selector Name=\"key\"> 3 </w:Selector>\n  <w:Selector Name=\"__CIMNamespace\">ROOT/cimv2</w:Selector>\n");
        using HttpClient client = Client();
        var (status, body, _) = await PostAsync(client, server.Url(), WithMessageId(xml, "uuid:1"));
        Assert.Equal(200, status);
        Assert.Contains("<p:Last>Jefferson</p:Last>", body);
        Assert.Equal("uuid:1", RelatesTo(body));
    }

    [Fact]
    public async Task Pull_answers_come_in_sequence_per_context_and_Enumerate_or_Release_resets_them()
    {
        using ReplayServer fresh = new ReplayServer().Start();
        using HttpClient client = Client();
        string enumerate = CurlRequest("enumerate-nooptimize"), pull = CurlRequest("pull");
        async Task<(int, string)> Post(string xml) { var (s, b, _) = await PostAsync(client, fresh.Url(), WithMessageId(xml, NewId())); return (s, b); }

        var (s0, b0) = await Post(enumerate);
        Assert.Equal(200, s0);
        Assert.Contains("<wsen:EnumerationContext>522780673<", b0);
        var (s1, b1) = await Post(pull);
        var (s2, b2) = await Post(pull);
        var (s3, b3) = await Post(pull);
        Assert.Equal((200, 200, 500), (s1, s2, s3));
        Assert.Contains("<p:Key>1</p:Key>", b1);
        Assert.DoesNotContain("EndOfSequence", b1);
        Assert.Contains("<p:Key>4</p:Key>", b2);
        Assert.Contains("EndOfSequence", b2);
        Assert.Contains("Enumeration context not found", b3);

        await Post(enumerate); // returns the context again: the pulls start over
        Assert.Contains("<p:Key>1</p:Key>", (await Post(pull)).Item2);
        var (sr, br) = await Post(pull.Replace("enumeration/Pull<", "enumeration/Release<").Replace("<n:MaxElements>3</n:MaxElements>", ""));
        Assert.Equal(200, sr);
        Assert.Contains("<wsa:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/ReleaseResponse</wsa:Action>", br);
        Assert.Contains("<SOAP-ENV:Body/>", br);
        Assert.Contains("<p:Key>1</p:Key>", (await Post(pull)).Item2); // the release dropped the cursor

        Assert.Equal(
            ["enumerate-nooptimize Enumerate MSFT_President", "pull1 Pull MSFT_President", "pull2 Pull MSFT_President", "pull3 Pull MSFT_President",
             "enumerate-nooptimize Enumerate MSFT_President", "pull1 Pull MSFT_President", "release Release MSFT_President", "pull1 Pull MSFT_President"],
            fresh.Requests());
        fresh.ClearRequests();
        Assert.Empty(fresh.Requests());
    }

    [Fact]
    public async Task Repeated_identical_requests_get_the_recordings_in_order()
    {
        using ReplayServer fresh = new ReplayServer().Start();
        using HttpClient client = Client();
        string omicli = Path.Combine(FixturesRoot, "omi-cim", "omicli");
        foreach (string conn in new[] { "conn009", "conn009", "conn009" })
            Assert.Equal(200, (await PostAsync(client, fresh.Url(), File.ReadAllText(Path.Combine(omicli, conn + "-request.xml")))).Status);
        Assert.Equal(["conn009 Enumerate MSFT_Person", "conn013 Enumerate MSFT_Person", "conn013 Enumerate MSFT_Person"], fresh.Requests());
    }

    [Fact]
    public async Task Missing_or_wrong_credentials_get_401_with_a_Basic_challenge()
    {
        using HttpClient client = Client();
        foreach (var (user, password) in new (string?, string?)[] { (null, null), ("rsess", "wrong"), ("other", "Replay-Pa55") })
        {
            var (status, body, response) = await PostAsync(client, server.Url(), CurlRequest("identify"), user, password);
            Assert.Equal(401, status);
            Assert.Equal("Basic realm=\"WSMAN\"", response.Headers.WwwAuthenticate.ToString());
            Assert.Equal("", body);
        }
        Assert.Equal(200, (await PostAsync(client, server.Url(), CurlRequest("identify"))).Status);
    }

    [Fact]
    public async Task Misbehave_401_and_fault500()
    {
        using HttpClient client = Client();
        Assert.Equal(401, (await PostAsync(client, server.Url(misbehave: "401"), CurlRequest("identify"))).Status);
        string id = NewId();
        var (status, body, _) = await PostAsync(client, server.Url(misbehave: "fault500"), WithMessageId(CurlRequest("get"), id));
        Assert.Equal(500, status);
        Assert.Contains("CIM ERROR:NOT_FOUND", body);
        Assert.Contains("<p:CIMStatusCode xsi:type=\"cim:cimUnsignedInt\">6</p:CIMStatusCode>", body);
        Assert.Equal(id, RelatesTo(body));
    }

    [Fact]
    public async Task Misbehave_slow_answers_after_the_delay()
    {
        using HttpClient client = Client();
        using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            PostAsync(client, server.Url(misbehave: "slow-5000"), CurlRequest("identify"), ct: soon.Token));
        var (status, body, _) = await PostAsync(client, server.Url(misbehave: "slow-200"), CurlRequest("identify"));
        Assert.Equal(200, status);
        Assert.Contains("IdentifyResponse", body);
    }

    [Fact]
    public async Task Misbehave_content_type_and_garbage()
    {
        using HttpClient client = Client();
        var (status, body, response) = await PostAsync(client, server.Url(misbehave: "content-type"), CurlRequest("get"));
        Assert.Equal(200, status);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<p:Last>Jefferson</p:Last>", body);

        (status, body, _) = await PostAsync(client, server.Url(misbehave: "garbage"), CurlRequest("get"));
        Assert.Equal(200, status);
        Assert.ThrowsAny<System.Xml.XmlException>(() => XDocument.Parse(body));
    }

    [Fact]
    public async Task Misbehave_noauth_silent_never_answers_without_credentials()
    {
        using HttpClient client = Client();
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            PostAsync(client, server.Url(misbehave: "noauth-silent"), CurlRequest("identify"), user: null, ct: bounded.Token));
        Assert.Equal(200, (await PostAsync(client, server.Url(misbehave: "noauth-silent"), CurlRequest("identify"))).Status);
    }

    /// <summary>Sends one POST on a raw socket; returns the socket and stream positioned after the request.</summary>
    private async Task<(TcpClient, NetworkStream)> RawPostAsync(string path, string xml)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.HttpPort);
        NetworkStream stream = tcp.GetStream();
        stream.ReadTimeout = 10_000;
        byte[] body = Encoding.UTF8.GetBytes(xml);
        string auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("rsess:Replay-Pa55"));
        string head = $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.HttpPort}\r\nAuthorization: Basic {auth}\r\n" +
                      $"Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {body.Length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        return (tcp, stream);
    }

    /// <summary>Everything the server sends until it closes the connection (or resets it).</summary>
    private static async Task<byte[]> ReadToCloseAsync(NetworkStream stream)
    {
        var all = new MemoryStream();
        var buffer = new byte[65536];
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, bounded.Token)) > 0) all.Write(buffer, 0, n);
        }
        catch (IOException) { } // a reset also ends the answer
        return all.ToArray();
    }

    private static (string Head, int ContentLength, int BodyBytes) SplitResponse(byte[] raw)
    {
        string text = Encoding.UTF8.GetString(raw);
        int sep = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(sep > 0, "no complete header block: " + text);
        string head = text[..sep];
        int length = int.Parse(Regex.Match(head, @"(?im)^Content-Length: *(\d+)").Groups[1].Value);
        return (head, length, raw.Length - Encoding.UTF8.GetByteCount(text[..(sep + 4)]));
    }

    [Fact]
    public async Task Misbehave_truncated_sends_half_the_body_and_closes()
    {
        var (tcp, stream) = await RawPostAsync("/misbehave/truncated/wsman", CurlRequest("get"));
        using (tcp)
        {
            var (head, length, bodyBytes) = SplitResponse(await ReadToCloseAsync(stream));
            Assert.StartsWith("HTTP/1.1 200", head);
            Assert.True(bodyBytes < length, $"body {bodyBytes} bytes, Content-Length {length}");
            Assert.Equal(length / 2, bodyBytes);
        }
    }

    [Fact]
    public async Task Misbehave_drop_closes_without_an_answer()
    {
        var (tcp, stream) = await RawPostAsync("/misbehave/drop/wsman", CurlRequest("get"));
        using (tcp) Assert.Empty(await ReadToCloseAsync(stream));
    }

    [Fact]
    public async Task Misbehave_split_sends_the_headers_before_the_body()
    {
        // The first read must return the header block alone. Under a loaded machine the reader may be
        // scheduled after both writes arrived, so one of a few tries showing it is enough.
        bool seenAlone = false;
        for (int attempt = 0; attempt < 5 && !seenAlone; attempt++)
        {
            var (tcp, stream) = await RawPostAsync("/misbehave/split/wsman", CurlRequest("get"));
            using (tcp)
            {
                var buffer = new byte[65536];
                int first = await stream.ReadAsync(buffer);
                string firstText = Encoding.UTF8.GetString(buffer, 0, first);
                seenAlone = firstText.EndsWith("\r\n\r\n", StringComparison.Ordinal);
                var all = new MemoryStream();
                all.Write(buffer, 0, first);
                var (_, length, _) = SplitResponse(buffer[..first]);
                while (SplitResponse(all.ToArray()).BodyBytes < length)
                {
                    int n = await stream.ReadAsync(buffer);
                    Assert.True(n > 0, "connection closed before the body was complete");
                    all.Write(buffer, 0, n);
                }
                Assert.Contains("<p:Last>Jefferson</p:Last>", Encoding.UTF8.GetString(all.ToArray()));
            }
        }
        Assert.True(seenAlone, "the first read never returned the headers alone");
    }

    [Fact]
    public async Task Https_with_the_generated_certificate_pinned()
    {
        Assert.True(File.Exists(server.CertificatePath));
        using X509Certificate2 cert = X509Certificate2.CreateFromPem(File.ReadAllText(server.CertificatePath!));
        Assert.Equal("CN=localhost", cert.Subject);
        using HttpClient pinned = Client();
        foreach (string host in new[] { "localhost", "127.0.0.1" })
        {
            var (status, body, _) = await PostAsync(pinned, $"https://{host}:{server.HttpsPort}/wsman", CurlRequest("identify-https"));
            Assert.Equal(200, status);
            Assert.Contains("secprofile/https/basic", body);
        }
        using HttpClient unpinned = Client(pin: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => PostAsync(unpinned, $"https://localhost:{server.HttpsPort}/wsman", CurlRequest("identify")));
    }

    [Theory]
    [InlineData(2500, 1000, true, 3)]
    [InlineData(5, 2, false, 4)]
    [InlineData(100, 100, true, 1)]
    public async Task Synthetic_enumeration_returns_exactly_N_instances(int n, int maxElements, bool optimized, int requests)
    {
        using HttpClient client = Client();
        string url = server.Url(server.HttpPorts[1]) + "?synthetic=" + n;
        string enumerate = CurlRequest("enumerate-number-page").Replace("<w:MaxElements>100</w:MaxElements>", $"<w:MaxElements>{maxElements}</w:MaxElements>");
        if (!optimized) enumerate = enumerate.Replace("<w:OptimizeEnumeration/>", "");
        var (status, body, _) = await PostAsync(client, url, enumerate);
        Assert.Equal(200, status);
        var numbers = new List<int>();
        int sent = 1;
        while (true)
        {
            XDocument doc = XDocument.Parse(body);
            numbers.AddRange(doc.Descendants().Where(e => e.Name.LocalName == "Number").Select(e => int.Parse(e.Value)));
            Assert.All(doc.Descendants().Where(e => e.Name.LocalName == "XYZ_Number"), e =>
                Assert.Equal(["Description", "Number", "NumberString"], e.Elements().Select(c => c.Name.LocalName)));
            if (doc.Descendants().Any(e => e.Name.LocalName == "EndOfSequence")) break;
            string context = doc.Descendants().Single(e => e.Name.LocalName == "EnumerationContext").Value;
            string pull = CurlRequest("pull").Replace("MSFT_President", "XYZ_Number").Replace("root/cimv2", "root/test")
                .Replace("522780673", context).Replace("<n:MaxElements>3</n:MaxElements>", $"<n:MaxElements>{maxElements}</n:MaxElements>");
            (status, body, _) = await PostAsync(client, url, pull);
            Assert.Equal(200, status);
            sent++;
        }
        Assert.Equal(Enumerable.Range(0, n), numbers);
        Assert.Equal(requests, sent);
    }

    [Fact]
    public async Task Three_http_ports_all_answer()
    {
        Assert.Equal(3, server.HttpPorts.Distinct().Count());
        using HttpClient client = Client();
        foreach (int port in server.HttpPorts)
            Assert.Equal(200, (await PostAsync(client, server.Url(port), CurlRequest("identify"))).Status);
    }
}
