using System.Text;
using System.Xml;

namespace RemoteSessions.ReplayServer;

/// <summary>
/// Hostile replies, under <c>POST /misbehave/&lt;mode&gt;/wsman</c>: a server that answers a request
/// about the class <see cref="ClassName"/> (Get, or an Enumerate: one optimized page with EndOfSequence)
/// with a reply made to hurt the client's reader — nested deep, with very many attributes or namespace
/// declarations, or far larger than the MaxEnvelopeSize asked for. Every other request is answered
/// normally, so a session made with the mode's URL works before and after the hostile reply.
/// Large replies are streamed: the server holds a few KB of them at a time.
/// </summary>
public static class Hostile
{
    /// <summary>The class whose requests get the hostile reply.</summary>
    public const string ClassName = "XYZ_Hostile";

    /// <summary>Its resource URI (the DMTF CIM prefix).</summary>
    public const string ClassUri = Ns.DmtfCimPrefix + ClassName;

    /// <summary>How deep <c>deep</c> embeds instances in one another.</summary>
    public const int Depth = 5000;
    /// <summary>How many attributes <c>attributes</c> puts on one element.</summary>
    public const int Attributes = 300_000;
    /// <summary>How many nested elements <c>xmlns</c> makes, each declaring a namespace prefix.</summary>
    public const int NestedDeclarations = 120_000;
    /// <summary>How many distinct namespace URIs <c>namespaces</c> uses (one per property element).</summary>
    public const int NamespaceUris = 65_000;
    /// <summary>Size of <c>oversize</c>'s tiny elements, in bytes.</summary>
    public const long HugeBytes = 60_000_000;
    /// <summary>Size of <c>hugefault</c>'s fault reason, in bytes.</summary>
    public const long FaultBytes = 50_000_000;

    /// <summary>The hostile modes.</summary>
    public static readonly IReadOnlySet<string> Modes = new HashSet<string>
    {
        "deep", "attributes", "xmlns", "namespaces", "oversize", "hugefault",
    };

    /// <summary>True for a hostile mode's name.</summary>
    public static bool IsKnown(string mode) => Modes.Contains(mode);

    /// <summary>
    /// The hostile reply of <paramref name="mode"/> to the request <paramref name="xml"/>, or null when
    /// the mode is not hostile or the request is not about <see cref="ClassName"/>.
    /// </summary>
    public static Reply? Answer(string? mode, string xml)
    {
        if (mode is null || !IsKnown(mode)) return null;
        RequestShape req;
        try { req = RequestShape.Parse(xml); }
        catch (XmlException) { return null; }
        if (req.ResourceUri != ClassUri) return null;
        if (mode == "hugefault") return HugeFault(req.MessageId);
        bool get = req.ActionName == "Get";
        string head = Soap.OmiEnvelopeStart +
            Soap.OmiHeader(get ? "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse" : Ns.Enumeration + "/EnumerateResponse", req.MessageId) +
            "<SOAP-ENV:Body>" + (get ? "" : "<wsen:EnumerateResponse><wsen:EnumerationContext>0</wsen:EnumerationContext><wsman:Items>") +
            $"<p:{ClassName} xmlns:p=\"{ClassUri}\"><p:Name>hostile</p:Name>";
        string tail = $"</p:{ClassName}>" + (get ? "" : "</wsman:Items><wsman:EndOfSequence/></wsen:EnumerateResponse>") +
            "</SOAP-ENV:Body></SOAP-ENV:Envelope>";
        Segment[] middle = mode switch
        {
            // An embedded instance in property Inner, 5000 times over: ~55 KB.
            "deep" => [new(_ => "<p:I>", Depth), new(_ => "<p:V>1</p:V>", 1), new(_ => "</p:I>", Depth)],
            // One property element with 300k attributes: ~3 MB.
            "attributes" => [new(_ => "<p:Many", 1), new(i => $" a{i}=\"\"", Attributes), new(_ => ">1</p:Many>", 1)],
            // 120k nested elements, each declaring a prefix; all named with the first: ~4 MB.
            "xmlns" => [new(i => $"<q0:N xmlns:q{i}=\"urn:h:{i}\">", NestedDeclarations), new(_ => "</q0:N>", NestedDeclarations)],
            // 65k property elements, each in a namespace of its own: ~2 MB.
            "namespaces" => [new(i => $"<E xmlns=\"urn:hostile:{i}\">{i}</E>", NamespaceUris)],
            // 60 MB of tiny elements, in 4 KB blocks.
            _ => [new(_ => Block("<a/>"), HugeBytes / 4096)],
        };
        return Streamed(200, [new(_ => head, 1), .. middle, new(_ => tail, 1)]);
    }

    /// <summary>A 500 Receiver fault whose reason is <see cref="FaultBytes"/> of text.</summary>
    private static Reply HugeFault(string? relatesTo)
    {
        string head = Soap.OmiEnvelopeStart + Soap.OmiHeader("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relatesTo) +
            "<SOAP-ENV:Body><SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Receiver</SOAP-ENV:Value></SOAP-ENV:Code>" +
            "<SOAP-ENV:Reason><SOAP-ENV:Text xml:lang=\"en-US\">hostile: ";
        const string tail = "</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>";
        return Streamed(500, [new(_ => head, 1), new(_ => Block("reason "), FaultBytes / 4096), new(_ => tail, 1)]);
    }

    /// <summary><paramref name="unit"/> repeated to 4096 characters (ASCII: 4096 bytes).</summary>
    private static string Block(string unit)
    {
        var b = new StringBuilder(4096);
        while (b.Length + unit.Length <= 4096) b.Append(unit);
        return b.Append(' ', 4096 - b.Length).ToString();
    }

    /// <summary><c>Count</c> pieces of text, piece <c>i</c> made by <c>Piece(i)</c>.</summary>
    private readonly record struct Segment(Func<long, string> Piece, long Count);

    /// <summary>A reply whose body is the segments' pieces in order, written in chunks of about 32 KB.</summary>
    private static Reply Streamed(int status, Segment[] segments)
    {
        long length = 0;
        foreach (Segment s in segments)
            for (long i = 0; i < s.Count; i++) length += Encoding.UTF8.GetByteCount(s.Piece(i));
        return new Reply
        {
            Status = status,
            Length = length,
            WriteBody = async (stream, ct) =>
            {
                var chunk = new StringBuilder(40_000);
                foreach (Segment s in segments)
                {
                    for (long i = 0; i < s.Count; i++)
                    {
                        chunk.Append(s.Piece(i));
                        if (chunk.Length < 32_000) continue;
                        await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()), ct);
                        chunk.Clear();
                    }
                }
                await stream.WriteAsync(Encoding.UTF8.GetBytes(chunk.ToString()), ct);
            },
        };
    }
}
