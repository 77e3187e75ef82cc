using System.Text;

namespace RemoteSessions.ReplayServer;

/// <summary>An enumeration of generated XYZ_Number instances in progress.</summary>
/// <param name="Total">How many instances the enumeration has (N).</param>
/// <param name="PageSize">MaxElements of the Enumerate (M).</param>
/// <param name="WithEpr">Each item is the instance with its EPR (EnumerateObjectAndEPR).</param>
public sealed class SyntheticEnumeration(long total, int pageSize, bool withEpr)
{
    /// <summary>Each item is the instance with its EPR (EnumerateObjectAndEPR).</summary>
    public bool WithEpr { get; } = withEpr;
    /// <summary>How many instances the enumeration has (N).</summary>
    public long Total { get; } = total;
    /// <summary>Instances per page unless a Pull says otherwise.</summary>
    public int PageSize { get; } = Math.Max(1, pageSize);
    /// <summary>Number of the next instance to send.</summary>
    public long Next { get; set; }
    /// <summary>True once EndOfSequence was sent.</summary>
    public bool Done { get; set; }
}

/// <summary>
/// Pages of generated XYZ_Number instances in exactly the XML shape of OMI's answers
/// (enumerate-number-page-response.xml), streamed: only a small buffer is held, whatever N is.
/// </summary>
public static class Synthetic
{
    /// <summary>The class served synthetically.</summary>
    public const string ClassUri = Ns.DmtfCimPrefix + "XYZ_Number";

    private static readonly int ItemFixedLength = Encoding.UTF8.GetByteCount(Item(0)) - 2;
    private static readonly int ItemWithEprFixedLength = Encoding.UTF8.GetByteCount(ItemWithEpr(0)) - 3;

    /// <summary>The endpoint reference of XYZ_Number <paramref name="n"/>: its key Number as the selector.</summary>
    public static string Epr(long n) =>
        "<wsa:EndpointReference><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>" +
        $"<wsa:ReferenceParameters><wsman:ResourceURI>{ClassUri}</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name=\"Number\">{n}</wsman:Selector>" +
        "</wsman:SelectorSet></wsa:ReferenceParameters></wsa:EndpointReference>";

    /// <summary>An EnumerateObjectAndEPR item: instance <paramref name="n"/> and its EPR in a <c>wsman:Item</c>.</summary>
    public static string ItemWithEpr(long n) => $"<wsman:Item>{Item(n)}{Epr(n)}</wsman:Item>";

    /// <summary>The bytes of item <paramref name="n"/>, with or without its EPR.</summary>
    private static int ItemLength(long n, bool withEpr) => withEpr ? ItemWithEprFixedLength + 3 * Digits(n) : ItemFixedLength + 2 * Digits(n);

    /// <summary>One instance; Number and NumberString are <paramref name="n"/>.</summary>
    public static string Item(long n) =>
        "<p:XYZ_Number xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/XYZ_Number\">" +
        $"<p:Description>This is a long long long long string</p:Description><p:Number>{n}</p:Number><p:NumberString>{n}</p:NumberString></p:XYZ_Number>";

    /// <summary>Most bytes of a page's envelope around its items (header and closing tags).</summary>
    private const int PageOverhead = 2048;

    /// <summary>
    /// How many of the <paramref name="count"/> instances from <paramref name="first"/> fit in an envelope
    /// of <paramref name="maxEnvelopeSize"/> bytes (all of them when the request named no size; items with
    /// their EPR when <paramref name="withEpr"/>), at least
    /// one: as a real server, a page stops where the client's MaxEnvelopeSize would be exceeded.
    /// </summary>
    public static long Fit(long first, long count, int? maxEnvelopeSize, bool withEpr)
    {
        if (maxEnvelopeSize is not int size) return count;
        long room = size - PageOverhead, fit = 0;
        for (long i = first; fit < count && (room -= ItemLength(i, withEpr)) >= 0; i++) fit++;
        return Math.Min(count, Math.Max(1, fit));
    }

    private static int Digits(long n) => n < 10 ? 1 : 1 + Digits(n / 10);

    /// <summary>
    /// An EnumerateResponse (<paramref name="pull"/> false; items under wsman:Items) or PullResponse
    /// (items under wsen:Items) with instances [first, first+count), each in a <c>wsman:Item</c> with its EPR
    /// when <paramref name="withEpr"/>, and EndOfSequence when <paramref name="last"/>.
    /// </summary>
    public static Reply Page(bool pull, string context, long first, long count, bool last, string? relatesTo, bool withEpr = false)
    {
        string action = Ns.Enumeration + (pull ? "/PullResponse" : "/EnumerateResponse");
        string op = pull ? "wsen:PullResponse" : "wsen:EnumerateResponse";
        string items = pull ? "wsen:Items" : "wsman:Items";
        string end = last ? (pull ? "<wsen:EndOfSequence/>" : "<wsman:EndOfSequence/>") : "";
        string head = Soap.OmiEnvelopeStart + Soap.OmiHeader(action, relatesTo) +
            $"<SOAP-ENV:Body><{op}><wsen:EnumerationContext>{context}</wsen:EnumerationContext><{items}>";
        string tail = $"</{items}>{end}</{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>";
        long length = Encoding.UTF8.GetByteCount(head) + Encoding.UTF8.GetByteCount(tail);
        for (long i = first; i < first + count; i++) length += ItemLength(i, withEpr);
        return new Reply
        {
            Status = 200,
            Length = length,
            WriteBody = async (stream, ct) =>
            {
                var chunk = new StringBuilder(head, 40_000);
                for (long i = first; i < first + count; i++)
                {
                    chunk.Append(withEpr ? ItemWithEpr(i) : Item(i));
                    if (chunk.Length >= 32_000)
                    {
                        await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()), ct);
                        chunk.Clear();
                    }
                }
                chunk.Append(tail);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()), ct);
            },
        };
    }

    /// <summary>The association served synthetically: XYZ_Number k's Lower end is k, its Higher end k + 1.</summary>
    public const string AssociationClass = "XYZ_NumberNeighbors";

    /// <summary>
    /// Answers an associators Enumerate (DSP0227 §8.2, <c>b:AssociatedInstances</c>) whose source is an
    /// XYZ_Number: its neighbours k − 1 and k + 1 within [0, <paramref name="total"/>), linked by
    /// <see cref="AssociationClass"/> (roles Lower and Higher). AssociationClassName, ResultClassName,
    /// Role and ResultRole filter as a CIM server filters them; items are instance + EPR
    /// (EnumerateObjectAndEPR) or EPR alone (EnumerateEPR), all in the optimized answer with EndOfSequence.
    /// Null when the request is no associators Enumerate of an XYZ_Number sent to the wildcard resource URI.
    /// </summary>
    public static string? Associators(RequestShape req, long total, string context)
    {
        if (req.ResourceUri != "http://schemas.dmtf.org/wbem/wscim/1/*") return null;
        Node? op = Child(req.Body, "Enumerate");
        Node? filter = op is null ? null : Child(op, "Filter");
        if (filter is null || !filter.Attributes.Contains("Dialect=http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter")) return null;
        Node? assoc = Child(filter, "AssociatedInstances");
        Node? source = assoc is null ? null : Child(Child(assoc, "Object"), "ReferenceParameters");
        if (assoc is null || source is null || Child(source, "ResourceURI")?.Text != ClassUri) return null;
        Node? number = Child(source, "SelectorSet")?.Children.FirstOrDefault(c => c.Attributes.Contains("name=number"));
        if (number is null || !long.TryParse(number.Text, out long k)) return null;
        string Field(string name) => Child(assoc, name)?.Text ?? "";
        bool Matches(string value, string expected) => value.Length == 0 || value.Equals(expected, StringComparison.OrdinalIgnoreCase);
        bool related = Matches(Field("AssociationClassName"), AssociationClass) && Matches(Field("ResultClassName"), "XYZ_Number");
        var results = new List<long>();
        // The source as Lower finds k + 1 (as Higher); as Higher it finds k - 1 (as Lower).
        if (related && Matches(Field("Role"), "Lower") && Matches(Field("ResultRole"), "Higher") && k + 1 < total) results.Add(k + 1);
        if (related && Matches(Field("Role"), "Higher") && Matches(Field("ResultRole"), "Lower") && k - 1 >= 0) results.Add(k - 1);
        bool eprOnly = Child(op!, "EnumerationMode")?.Text == "EnumerateEPR";
        var items = new StringBuilder();
        foreach (long n in results.Order())
        {
            items.Append(eprOnly ? Epr(n) : ItemWithEpr(n));
        }
        return Soap.OmiEnvelopeStart + Soap.OmiHeader(Ns.Enumeration + "/EnumerateResponse", req.MessageId) +
            $"<SOAP-ENV:Body><wsen:EnumerateResponse><wsen:EnumerationContext>{context}</wsen:EnumerationContext>" +
            $"<wsman:Items>{items}</wsman:Items><wsman:EndOfSequence/></wsen:EnumerateResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>";
    }

    private static Node? Child(Node? parent, string name) => parent?.Children.FirstOrDefault(c => c.Name == name);

    /// <summary>The CIM-XML resource URI of class declarations (GetClass).</summary>
    private const string ClassDeclarationUri = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*";

    /// <summary>
    /// XYZ_Number's declaration (a GetClass answer under <c>?synthetic=N</c>): Description and NumberString
    /// strings, Number a uint64 key, and the static method <c>string Spell([In] uint64 num, [Out] uint8 digits[])</c>.
    /// Null for any other request.
    /// </summary>
    public static string? ClassDeclaration(RequestShape req)
    {
        if (req.Action != "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get" || req.ResourceUri != ClassDeclarationUri
            || !req.Selectors.Contains("classname=xyz_number")) return null;
        const string key = "<QUALIFIER NAME=\"Key\" TYPE=\"boolean\"><VALUE>true</VALUE></QUALIFIER>";
        const string body =
            "<CLASS NAME=\"XYZ_Number\"><PROPERTY NAME=\"Description\" TYPE=\"string\"></PROPERTY>" +
            $"<PROPERTY NAME=\"Number\" TYPE=\"uint64\">{key}</PROPERTY><PROPERTY NAME=\"NumberString\" TYPE=\"string\"></PROPERTY>" +
            "<METHOD NAME=\"Spell\" TYPE=\"string\"><QUALIFIER NAME=\"Static\" TYPE=\"boolean\"><VALUE>true</VALUE></QUALIFIER>" +
            "<PARAMETER NAME=\"num\" TYPE=\"uint64\"><QUALIFIER NAME=\"In\" TYPE=\"boolean\"><VALUE>true</VALUE></QUALIFIER></PARAMETER>" +
            "<PARAMETER.ARRAY NAME=\"digits\" TYPE=\"uint8\"><QUALIFIER NAME=\"Out\" TYPE=\"boolean\"><VALUE>true</VALUE></QUALIFIER></PARAMETER.ARRAY>" +
            "</METHOD></CLASS>";
        return Soap.OmiEnvelopeStart + Soap.OmiHeader("http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse", req.MessageId) +
            $"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>";
    }

    private static readonly string[] DigitNames = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

    /// <summary>
    /// The answer to XYZ_Number's static <c>Spell</c> under <c>?synthetic=N</c>: ReturnValue the decimal
    /// digits of <c>num</c> spelled out ("four two" for 42), <c>digits</c> the digits one element each. A
    /// <c>num</c> that is no uint64 is answered with an InvalidParameter fault. Null for any other request.
    /// </summary>
    public static (int Status, string Body)? Spell(RequestShape req)
    {
        if (req.Action != ClassUri + "/Spell" || req.ResourceUri != ClassUri) return null;
        string? text = Child(Child(req.Body, "Spell_INPUT"), "num")?.Text;
        if (!ulong.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong num))
            return (500, Soap.SenderFault($"InvalidParameter: num '{text}' is not a uint64", req.MessageId));
        string digits = num.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string spelled = string.Join(' ', digits.Select(d => DigitNames[d - '0']));
        string items = string.Concat(digits.Select(d => $"<p:digits>{d}</p:digits>"));
        return (200, Soap.OmiEnvelopeStart + Soap.OmiHeader(ClassUri + "/SpellResponse", req.MessageId) +
            $"<SOAP-ENV:Body><p:Spell_OUTPUT xmlns:p=\"{ClassUri}\"><p:ReturnValue>{spelled}</p:ReturnValue>{items}</p:Spell_OUTPUT></SOAP-ENV:Body></SOAP-ENV:Envelope>");
    }
}
