using System.Text.RegularExpressions;

namespace RemoteSessions.ReplayServer;

/// <summary>One recorded answer: HTTP status and body.</summary>
/// <param name="Name">The answer's fixture name as logged: the exchange name, or the response file stem (pull1, pull2, ...).</param>
/// <param name="Status">HTTP status code.</param>
/// <param name="Body">The SOAP body as recorded (may be empty).</param>
public sealed record Recorded(string Name, int Status, string Body);

/// <summary>A recorded exchange: a request and the answers the server gave it, in order.</summary>
/// <param name="Name">Fixture name (file name without the request suffix), e.g. <c>enumerate-wql</c>, <c>conn002</c>, <c>test1</c>.</param>
/// <param name="Folder">Folder relative to the fixtures root.</param>
/// <param name="Request">The recorded request.</param>
/// <param name="Answers">Answers in the order the server gave them (pull: pull1, pull2, pull3).</param>
public sealed record Exchange(string Name, string Folder, RequestShape Request, IReadOnlyList<Recorded> Answers)
{
    /// <summary>Transport traits the recording was made with: <c>https</c>, <c>winrmua</c> (User-Agent "Microsoft WinRM Client").</summary>
    public IReadOnlySet<string> Tags { get; } = new HashSet<string>(
        new[] { "https", "winrmua" }.Where(t => Name.Contains("-" + t, StringComparison.Ordinal)));
}

/// <summary>
/// Exchanges whose requests are the same by the matching rules and that were recorded with the same
/// transport traits; their answers are served in sequence, one per request, staying on the last.
/// </summary>
/// <param name="Id">Index of the group.</param>
/// <param name="Members">The exchanges, by name.</param>
public sealed record ExchangeGroup(int Id, IReadOnlyList<Exchange> Members)
{
    /// <summary>All answers of the members, in order.</summary>
    public IReadOnlyList<Recorded> Sequence { get; } = Members.SelectMany(m => m.Answers).ToList();
}

/// <summary>Loads the replayable exchanges from the fixtures folder.</summary>
public sealed class FixtureSet
{
    /// <summary>
    /// Exchanges not served, with the reason: their requests equal another fixture's by the matching
    /// rules (whitespace only differs) and OMI's recorded answer is an empty 500 for the pretty-printed
    /// variant, so the minified variant's answer is the one a correct client should get.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Shadowed = new Dictionary<string, string>
    {
        ["associators"] = "same request as associators-min except whitespace; OMI answered this pretty-printed variant with an empty 500",
        ["references"] = "same request as references-min except whitespace; OMI answered this pretty-printed variant with an empty 500",
    };

    /// <summary>Every served exchange.</summary>
    public IReadOnlyList<Exchange> All { get; }

    /// <summary>Groups by request key.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ExchangeGroup>> ByKey { get; }

    /// <summary>The body of get-notfound-response.xml (used by the fault500 mode).</summary>
    public string NotFoundFault { get; }

    /// <summary>The body of pull3-response.xml (context not found), reused for exhausted synthetic contexts.</summary>
    public string ContextNotFoundFault { get; }

    /// <summary>Loads omi-cim/curl, omi-cim/omicli and windows-cim/omi-posthttp under <paramref name="root"/>.</summary>
    public FixtureSet(string root)
    {
        var all = new List<Exchange>();
        all.AddRange(LoadCurl(Path.Combine(root, "omi-cim", "curl")));
        all.AddRange(LoadOmicli(Path.Combine(root, "omi-cim", "omicli")));
        all.AddRange(LoadPostHttp(Path.Combine(root, "windows-cim", "omi-posthttp")));
        All = all;
        int id = 0;
        ByKey = all.GroupBy(e => e.Request.Key).ToDictionary(
            g => g.Key,
            g => (IReadOnlyList<ExchangeGroup>)g.GroupBy(e => string.Join(",", e.Tags.Order()))
                .Select(t => new ExchangeGroup(id++, t.ToList())).ToList()); // load order: curl, omicli, posthttp; by name
        NotFoundFault = ReadHttp(Path.Combine(root, "omi-cim", "curl", "get-notfound-response.http"), "get-notfound").Body;
        ContextNotFoundFault = ReadHttp(Path.Combine(root, "omi-cim", "curl", "pull3-response.http"), "pull3").Body;
    }

    private static IEnumerable<Exchange> LoadCurl(string dir)
    {
        foreach (string req in Directory.GetFiles(dir, "*-request.xml").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(req)[..^"-request.xml".Length];
            if (Shadowed.ContainsKey(name)) continue;
            var answers = new List<Recorded>();
            string single = Path.Combine(dir, name + "-response.http");
            if (File.Exists(single)) answers.Add(ReadHttp(single, name));
            else
                for (int i = 1; File.Exists(Path.Combine(dir, $"{name}{i}-response.http")); i++)
                    answers.Add(ReadHttp(Path.Combine(dir, $"{name}{i}-response.http"), $"{name}{i}"));
            if (answers.Count == 0) throw new InvalidDataException($"{req}: no response file");
            yield return new Exchange(name, "omi-cim/curl", RequestShape.Parse(File.ReadAllText(req)), answers);
        }
    }

    private static IEnumerable<Exchange> LoadOmicli(string dir)
    {
        foreach (string req in Directory.GetFiles(dir, "conn*-request.xml").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(req)[..^"-request.xml".Length];
            string body = File.ReadAllText(Path.Combine(dir, name + "-response.xml"));
            yield return new Exchange(name, "omi-cim/omicli", RequestShape.Parse(File.ReadAllText(req)), [new Recorded(name, IsFault(body) ? 500 : 200, body)]);
        }
    }

    private static IEnumerable<Exchange> LoadPostHttp(string dir)
    {
        foreach (string req in Directory.GetFiles(dir, "test*.request.xml").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(req)[..^".request.xml".Length];
            // Format: responseHeaders{<status line and headers>}\nresponseContent{<body>}
            string text = File.ReadAllText(Path.Combine(dir, name + ".response.xml"));
            Match status = Regex.Match(text, @"responseHeaders\{HTTP/1\.1 (\d{3})");
            int start = text.IndexOf("responseContent{", StringComparison.Ordinal) + "responseContent{".Length;
            string body = text[start..text.LastIndexOf('}')];
            // The capture elides the enumeration context as NNNN; a client needs a real one.
            body = body.Replace("EnumerationContext>NNNN<", $"EnumerationContext>{90000 + int.Parse(name[4..])}<", StringComparison.Ordinal);
            yield return new Exchange(name, "windows-cim/omi-posthttp", RequestShape.Parse(File.ReadAllText(req)),
                [new Recorded(name, status.Success ? int.Parse(status.Groups[1].Value) : 200, body)]);
        }
    }

    /// <summary>
    /// One line per served exchange for <c>--list</c>: name, folder, traits, group, action, ResourceURI,
    /// selectors and a compact form of the body, tab-separated.
    /// </summary>
    public IEnumerable<string> Describe()
    {
        foreach (var (key, groups) in ByKey)
            foreach (ExchangeGroup g in groups)
                foreach (Exchange e in g.Members)
                    yield return string.Join("\t", e.Name, e.Folder, e.Tags.Count == 0 ? "-" : string.Join("+", e.Tags),
                        "group" + g.Id + "=" + string.Join("+", groups.SelectMany(x => x.Members).Select(m => m.Name)),
                        string.Join(",", e.Answers.Select(a => a.Name + ":" + a.Status)),
                        e.Request.Action.Length == 0 ? "-" : e.Request.Action, e.Request.ResourceUri.Length == 0 ? "-" : e.Request.ResourceUri,
                        "{" + string.Join(", ", e.Request.Selectors) + "}", string.Join(" ", e.Request.Body.Children.Select(Summary)));
    }

    private static string Summary(Node n)
    {
        string attrs = n.Attributes.Count == 0 ? "" :
            "(" + string.Join(" ", n.Attributes.Select(a => a[(a.LastIndexOf('}') + 1)..]).Select(a => a.StartsWith("Dialect=") ? "Dialect=" + a[(a.LastIndexOf('/') + 1)..] : a)) + ")";
        string text = n.Text.Length == 0 ? "" : "=" + n.Text;
        string children = n.Children.Count == 0 ? "" : "[" + string.Join(" ", n.Children.Select(Summary)) + "]";
        return n.Name + attrs + text + children;
    }

    /// <summary>Reads a recorded HTTP response (status line, headers, blank line, body).</summary>
    public static Recorded ReadHttp(string path, string name)
    {
        string text = File.ReadAllText(path);
        int status = int.Parse(text.Split(' ', 3)[1]);
        int sep = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        int skip = 4;
        if (sep < 0) { sep = text.IndexOf("\n\n", StringComparison.Ordinal); skip = 2; }
        return new Recorded(name, status, sep < 0 ? "" : text[(sep + skip)..]);
    }

    /// <summary>True when a SOAP body carries an s:Fault.</summary>
    public static bool IsFault(string body) => Regex.IsMatch(body, @"<(\w+:)?Fault[\s>]");
}
