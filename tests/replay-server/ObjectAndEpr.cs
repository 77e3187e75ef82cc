using System.Xml.Linq;

namespace RemoteSessions.ReplayServer;

/// <summary>
/// Turns a recorded answer for objects only into the answer to the same request with
/// <c>w:EnumerationMode EnumerateObjectAndEPR</c>, as OMI writes it: each item of the page becomes a
/// <c>wsman:Item</c> holding the instance and its endpoint reference, whose selectors are the instance's
/// key properties.
/// </summary>
public static class ObjectAndEpr
{
    private static readonly XNamespace WsMan = Ns.WsMan, Addressing = Ns.Addressing, Enumeration = Ns.Enumeration;

    /// <summary>
    /// The key properties of the recorded classes, as OMI's own endpoint references name them
    /// (omi-posthttp test1 for OMI_Identify; the Create, association and EnumerateEPR recordings for
    /// MSFT_President and MSFT_Person). Items of other classes get no EPR: nothing recorded says their keys.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> Keys = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
    {
        ["OMI_Identify"] = ["InstanceID"],
        ["MSFT_President"] = ["Key"],
        ["MSFT_Person"] = ["Key"],
    };

    /// <summary>
    /// <paramref name="envelope"/> (an EnumerateResponse or PullResponse) with each item of a class in
    /// <see cref="Keys"/> wrapped with its EPR; other envelopes and items unchanged.
    /// </summary>
    public static string AddEprs(string envelope)
    {
        XDocument doc = XDocument.Parse(envelope, LoadOptions.PreserveWhitespace);
        var items = doc.Descendants().Where(e => e.Name == WsMan + "Items" || e.Name == Enumeration + "Items").ToList();
        if (items.Count == 0) return envelope;
        foreach (XElement item in items.SelectMany(i => i.Elements()).ToList())
        {
            if (item.Name == WsMan + "Item" || !Keys.TryGetValue(item.Name.LocalName, out string[]? keys)) continue;
            var selectors = keys.Select(k => new XElement(WsMan + "Selector", new XAttribute("Name", k), item.Element(item.Name.Namespace + k)?.Value.Trim() ?? ""));
            var epr = new XElement(Addressing + "EndpointReference",
                new XElement(Addressing + "Address", "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"),
                new XElement(Addressing + "ReferenceParameters",
                    new XElement(WsMan + "ResourceURI", item.Name.NamespaceName),
                    new XElement(WsMan + "SelectorSet", selectors)));
            item.ReplaceWith(new XElement(WsMan + "Item", new XElement(item), epr));
        }
        return doc.ToString(SaveOptions.DisableFormatting);
    }
}
