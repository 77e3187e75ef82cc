using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace RemoteSessions.ReplayServer;

/// <summary>XML namespaces and URIs of WS-Management that the replay server looks at.</summary>
public static class Ns
{
    /// <summary>SOAP 1.2 envelope.</summary>
    public const string Soap = "http://www.w3.org/2003/05/soap-envelope";
    /// <summary>WS-Addressing (2004/08).</summary>
    public const string Addressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
    /// <summary>WS-Management.</summary>
    public const string WsMan = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
    /// <summary>WS-Enumeration.</summary>
    public const string Enumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
    /// <summary>The Enumerate action.</summary>
    public const string EnumerateAction = Enumeration + "/Enumerate";
    /// <summary>The Pull action.</summary>
    public const string PullAction = Enumeration + "/Pull";
    /// <summary>The Release action.</summary>
    public const string ReleaseAction = Enumeration + "/Release";
    /// <summary>The CIM class URI prefix Microsoft's clients use; the same classes as <see cref="DmtfCimPrefix"/>.</summary>
    public const string MicrosoftCimPrefix = "http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/";
    /// <summary>The DMTF CIM class URI prefix; the canonical form used for matching.</summary>
    public const string DmtfCimPrefix = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";

    /// <summary>A URI with the Microsoft CIM class prefix rewritten to the DMTF one; others unchanged.</summary>
    public static string NormalizeCimUri(string uri) =>
        uri.StartsWith(MicrosoftCimPrefix, StringComparison.Ordinal) ? DmtfCimPrefix + uri[MicrosoftCimPrefix.Length..] : uri;
}

/// <summary>An XML element reduced to what matching compares: name, attributes, trimmed text, children.</summary>
/// <param name="Namespace">Namespace URI (CIM class prefixes normalized).</param>
/// <param name="Name">Local name.</param>
/// <param name="Attributes">Attributes other than xmlns declarations, as <c>{ns}name=value</c>, sorted.</param>
/// <param name="Text">The element's own text nodes, concatenated and trimmed.</param>
/// <param name="Children">Child elements in document order.</param>
public sealed record Node(string Namespace, string Name, IReadOnlyList<string> Attributes, string Text, IReadOnlyList<Node> Children)
{
    /// <summary>The element's name as <c>{ns}local</c>, or the bare local name without a namespace.</summary>
    public string QName => Namespace.Length == 0 ? Name : "{" + Namespace + "}" + Name;

    /// <summary>Builds the comparable form of an element.</summary>
    public static Node From(XElement e)
    {
        var attrs = e.Attributes().Where(a => !a.IsNamespaceDeclaration)
            .Select(a => (a.Name.NamespaceName.Length == 0 ? "" : "{" + a.Name.NamespaceName + "}") + a.Name.LocalName + "=" + a.Value.Trim())
            .Order(StringComparer.Ordinal).ToList();
        string text = string.Concat(e.Nodes().OfType<XText>().Select(t => t.Value)).Trim();
        List<Node> children = e.Elements().Select(From).ToList();
        bool isWsMan = e.Name.NamespaceName == Ns.WsMan;
        if (isWsMan && e.Name.LocalName == "ResourceURI") text = Ns.NormalizeCimUri(text);
        if (isWsMan && e.Name.LocalName == "SelectorSet")
        {
            // Selectors are a set (names and values case-insensitive), in an EPR as in the header.
            children = children.Select(c => c with
            {
                Attributes = c.Attributes.Select(a => a.ToLowerInvariant()).ToList(),
                Text = c.Text.ToLowerInvariant(),
            }).OrderBy(c => string.Join(",", c.Attributes), StringComparer.Ordinal).ThenBy(c => c.Text, StringComparer.Ordinal).ToList();
        }
        return new Node(Ns.NormalizeCimUri(e.Name.NamespaceName), e.Name.LocalName, attrs, text, children);
    }

    /// <summary>A canonical one-string form; equal strings mean equal nodes.</summary>
    public void AppendCanonical(StringBuilder sb)
    {
        sb.Append('<').Append(QName);
        foreach (string a in Attributes) sb.Append(' ').Append(a);
        sb.Append('>').Append(Text);
        foreach (Node c in Children) c.AppendCanonical(sb);
        sb.Append("</>");
    }
}

/// <summary>
/// A SOAP request reduced to what decides which fixture answers it: wsa:Action, w:ResourceURI,
/// w:SelectorSet and the shape of s:Body. Everything else in the header (MessageID, To, ReplyTo,
/// OperationTimeout, MaxEnvelopeSize, Locale, DataLocale, OptionSet, SessionId, ...) is ignored.
/// </summary>
public sealed class RequestShape
{
    /// <summary>wsa:Action (CIM class prefix normalized), or "" when absent (Identify).</summary>
    public string Action { get; private init; } = "";
    /// <summary>w:ResourceURI (CIM class prefix normalized), or "".</summary>
    public string ResourceUri { get; private init; } = "";
    /// <summary>Header selectors as lower-case <c>name=value</c>, sorted.</summary>
    public IReadOnlyList<string> Selectors { get; private init; } = [];
    /// <summary>The s:Body element.</summary>
    public Node Body { get; private init; } = new("", "Body", [], "", []);
    /// <summary>wsa:MessageID, if any (not compared).</summary>
    public string? MessageId { get; private init; }
    /// <summary>The body's wsen:EnumerationContext (Pull, Release), if any.</summary>
    public string? EnumerationContext { get; private init; }
    /// <summary>The body's wsen:MaxElements or w:MaxElements, if any.</summary>
    public int? MaxElements { get; private init; }
    /// <summary>The header's w:MaxEnvelopeSize in bytes, if any (not compared).</summary>
    public int? MaxEnvelopeSize { get; private init; }
    /// <summary>True when the body asks for w:OptimizeEnumeration.</summary>
    public bool Optimized { get; private init; }
    /// <summary>Canonical string of everything compared; equal keys mean the same request.</summary>
    public string Key { get; private init; } = "";
    /// <summary>True when an Enumerate asks for <c>w:EnumerationMode EnumerateObjectAndEPR</c> (each item with its EPR).</summary>
    public bool ObjectAndEpr { get; private init; }
    /// <summary>For an <see cref="ObjectAndEpr"/> request, the <see cref="Key"/> it would have without its
    /// EnumerationMode (the same request asking for objects only); else null.</summary>
    public string? KeyWithoutMode { get; private init; }

    /// <summary>The last segment of the ResourceURI (the class name), or "-".</summary>
    public string ClassName => ResourceUri.Length == 0 ? "-" : ResourceUri[(ResourceUri.LastIndexOf('/') + 1)..];

    /// <summary>The last segment of the action (Enumerate, Get, a method name), or "-".</summary>
    public string ActionName => Action.Length == 0 ? "-" : Action[(Action.LastIndexOf('/') + 1)..];

    /// <summary>Parses a SOAP envelope; throws <see cref="XmlException"/> when it is not one.</summary>
    public static RequestShape Parse(string xml)
    {
        XDocument doc = XDocument.Parse(xml);
        XElement env = doc.Root ?? throw new XmlException("no root element");
        if (env.Name != XName.Get("Envelope", Ns.Soap)) throw new XmlException($"root is {env.Name}, not a SOAP 1.2 Envelope");
        XElement? header = env.Element(XName.Get("Header", Ns.Soap));
        XElement body = env.Element(XName.Get("Body", Ns.Soap)) ?? throw new XmlException("no s:Body");
        string H(string ns, string name) => header?.Element(XName.Get(name, ns))?.Value.Trim() ?? "";
        var selectors = (header?.Element(XName.Get("SelectorSet", Ns.WsMan))?.Elements(XName.Get("Selector", Ns.WsMan)) ?? [])
            .Select(s => ((string?)s.Attribute("Name") ?? "").Trim().ToLowerInvariant() + "=" + s.Value.Trim().ToLowerInvariant())
            .Order(StringComparer.Ordinal).ToList();
        Node bodyNode = Node.From(body);
        XElement? op = body.Elements().FirstOrDefault();
        string? context = op?.Element(XName.Get("EnumerationContext", Ns.Enumeration))?.Value.Trim();
        string? max = op?.Element(XName.Get("MaxElements", Ns.Enumeration))?.Value ?? op?.Element(XName.Get("MaxElements", Ns.WsMan))?.Value;
        string action = Ns.NormalizeCimUri(H(Ns.Addressing, "Action"));
        string resourceUri = Ns.NormalizeCimUri(H(Ns.WsMan, "ResourceURI"));
        var key = new StringBuilder();
        key.Append(action).Append('\n').Append(resourceUri).Append('\n').AppendJoin(",", selectors).Append('\n');
        string head = key.ToString();
        bodyNode.AppendCanonical(key);
        XElement? mode = op?.Element(XName.Get("EnumerationMode", Ns.WsMan));
        bool objectAndEpr = op?.Name == XName.Get("Enumerate", Ns.Enumeration) && mode?.Value.Trim() == "EnumerateObjectAndEPR";
        string? keyWithoutMode = null;
        if (objectAndEpr)
        {
            mode!.Remove();
            var without = new StringBuilder(head);
            Node.From(body).AppendCanonical(without);
            keyWithoutMode = without.ToString();
        }
        return new RequestShape
        {
            Action = action,
            ResourceUri = resourceUri,
            Selectors = selectors,
            Body = bodyNode,
            MessageId = header?.Element(XName.Get("MessageID", Ns.Addressing))?.Value.Trim(),
            EnumerationContext = context,
            MaxElements = int.TryParse(max?.Trim(), out int m) ? m : null,
            MaxEnvelopeSize = int.TryParse(H(Ns.WsMan, "MaxEnvelopeSize"), out int size) ? size : null,
            Optimized = op?.Element(XName.Get("OptimizeEnumeration", Ns.WsMan)) is not null,
            Key = key.ToString(),
            ObjectAndEpr = objectAndEpr,
            KeyWithoutMode = keyWithoutMode,
        };
    }
}

/// <summary>Compares a request with a fixture's request and says how they differ.</summary>
public static class Matcher
{
    private const int MaxDifferences = 50;

    /// <summary>
    /// The differences of <paramref name="actual"/> from <paramref name="expected"/>, in the order
    /// Action, ResourceURI, SelectorSet, Body (document order), and a distance for finding the closest
    /// fixture (a different action weighs most, then the resource URI, the selectors, each body difference).
    /// </summary>
    public static (List<string> Differences, int Distance) Compare(RequestShape expected, RequestShape actual)
    {
        var diffs = new List<string>();
        int distance = 0;
        if (expected.Action != actual.Action)
        {
            diffs.Add($"wsa:Action: fixture has '{expected.Action}', request has '{actual.Action}'");
            distance += 1000;
        }
        if (expected.ResourceUri != actual.ResourceUri)
        {
            diffs.Add($"w:ResourceURI: fixture has '{expected.ResourceUri}', request has '{actual.ResourceUri}'");
            distance += 100;
        }
        if (!expected.Selectors.SequenceEqual(actual.Selectors))
        {
            diffs.Add($"w:SelectorSet: fixture has {{{string.Join(", ", expected.Selectors)}}}, request has {{{string.Join(", ", actual.Selectors)}}}");
            distance += 10 * Math.Max(1, expected.Selectors.Except(actual.Selectors).Count() + actual.Selectors.Except(expected.Selectors).Count());
        }
        int before = diffs.Count;
        CompareNodes(expected.Body, actual.Body, "s:Body", diffs);
        distance += diffs.Count - before;
        return (diffs, distance);
    }

    /// <summary>
    /// Edit distance between two strings after removing their common prefix and suffix (the tie-break
    /// between equally different fixtures: key=3 is closer to key=4 than key=99 is).
    /// </summary>
    public static int TextDistance(string a, string b)
    {
        int pre = 0;
        while (pre < a.Length && pre < b.Length && a[pre] == b[pre]) pre++;
        int suf = 0;
        while (suf < a.Length - pre && suf < b.Length - pre && a[^(suf + 1)] == b[^(suf + 1)]) suf++;
        string x = a[pre..^suf], y = b[pre..^suf];
        if ((long)x.Length * y.Length > 4_000_000) return Math.Max(x.Length, y.Length);
        var row = new int[y.Length + 1];
        for (int j = 0; j <= y.Length; j++) row[j] = j;
        for (int i = 1; i <= x.Length; i++)
        {
            int diag = row[0];
            row[0] = i;
            for (int j = 1; j <= y.Length; j++)
            {
                int up = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diag + (x[i - 1] == y[j - 1] ? 0 : 1));
                diag = up;
            }
        }
        return row[y.Length];
    }

    private static void CompareNodes(Node e, Node a, string path, List<string> diffs)
    {
        if (diffs.Count >= MaxDifferences) return;
        if (e.QName != a.QName)
        {
            diffs.Add($"{path}: fixture has element {e.QName}, request has {a.QName}");
            return;
        }
        if (!e.Attributes.SequenceEqual(a.Attributes))
            diffs.Add($"{path}: attributes: fixture has [{string.Join(" ", e.Attributes)}], request has [{string.Join(" ", a.Attributes)}]");
        if (e.Text != a.Text)
            diffs.Add($"{path}: text: fixture has '{e.Text}', request has '{a.Text}'");
        int n = Math.Min(e.Children.Count, a.Children.Count);
        for (int i = 0; i < n; i++)
            CompareNodes(e.Children[i], a.Children[i], path + "/" + e.Children[i].Name, diffs);
        for (int i = n; i < e.Children.Count && diffs.Count < MaxDifferences; i++)
            diffs.Add($"{path}: request lacks child {e.Children[i].QName} (child {i + 1} of the fixture's {e.Children.Count})");
        for (int i = n; i < a.Children.Count && diffs.Count < MaxDifferences; i++)
            diffs.Add($"{path}: request has extra child {a.Children[i].QName} (the fixture has {e.Children.Count} children)");
    }
}
