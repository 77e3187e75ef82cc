// The SOAP side: reading WS-Management requests and writing replies in the shapes Windows Server's WinRM
// answers with (see ../../shared/fixtures/pypsrp-wsman: header order, namespaces, fault details).
using System.Security;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace RemoteSessions.WsmanEndpoint;

static class Ns
{
    public const string Soap = "http://www.w3.org/2003/05/soap-envelope";
    public const string Addressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
    public const string Transfer = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
    public const string Enumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
    public const string Eventing = "http://schemas.xmlsoap.org/ws/2004/08/eventing";
    public const string Wsman = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
    public const string MsWsman = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
    public const string Shell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
    public const string PowerShell = "http://schemas.microsoft.com/powershell";
    public const string Config = "http://schemas.microsoft.com/wbem/wsman/1/config";
    public const string Identity = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";
    public const string Fault = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
    public const string Anonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
}

static class Actions
{
    public const string Create = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
    public const string Delete = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
    public const string Get = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
    public const string Enumerate = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
    public const string Pull = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
    public const string Release = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release";
    public const string Shell = Ns.Shell + "/";
    public const string Fault = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
}

/// <summary>A WS-Management request as read: its headers and body.</summary>
sealed class SoapRequest
{
    public required XDocument Document;
    public string Action = "";
    public string MessageId = "";
    public string ResourceUri = "";
    public string To = "";
    public string? SessionId;
    public string Locale = "en-US";
    public int MaxEnvelopeSize = 153600;
    public TimeSpan OperationTimeout = TimeSpan.FromSeconds(60);
    public readonly Dictionary<string, string> Selectors = new(StringComparer.OrdinalIgnoreCase);
    public readonly List<(string Name, string Value, bool MustComply)> Options = [];
    public XElement Body = new(XName.Get("Body", Ns.Soap));

    public string Short => Action.Contains('/') ? Action[(Action.LastIndexOf('/') + 1)..] : Action;

    public static SoapRequest Parse(byte[] body)
    {
        XDocument doc;
        using (var reader = XmlReader.Create(new MemoryStream(body), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit }))
            doc = XDocument.Load(reader);
        var r = new SoapRequest { Document = doc };
        XElement envelope = doc.Root ?? throw new XmlException("no envelope");
        XElement? header = envelope.Element(XName.Get("Header", Ns.Soap));
        r.Body = envelope.Element(XName.Get("Body", Ns.Soap)) ?? r.Body;
        if (header is null) return r;
        string? Text(string ns, string name) => header.Element(XName.Get(name, ns))?.Value.Trim();
        r.Action = Text(Ns.Addressing, "Action") ?? "";
        r.MessageId = Text(Ns.Addressing, "MessageID") ?? "";
        r.ResourceUri = Text(Ns.Wsman, "ResourceURI") ?? "";
        r.To = Text(Ns.Addressing, "To") ?? "";
        r.SessionId = Text(Ns.MsWsman, "SessionId");
        if (header.Element(XName.Get("Locale", Ns.Wsman))?.Attribute(XNamespace.Xml + "lang")?.Value is { Length: > 0 } lang) r.Locale = lang;
        if (int.TryParse(Text(Ns.Wsman, "MaxEnvelopeSize"), out int max)) r.MaxEnvelopeSize = max;
        if (Text(Ns.Wsman, "OperationTimeout") is { } timeout) r.OperationTimeout = XmlConvert.ToTimeSpan(timeout);
        foreach (XElement s in header.Element(XName.Get("SelectorSet", Ns.Wsman))?.Elements(XName.Get("Selector", Ns.Wsman)) ?? [])
            r.Selectors[(string?)s.Attribute("Name") ?? ""] = s.Value.Trim();
        foreach (XElement o in header.Element(XName.Get("OptionSet", Ns.Wsman))?.Elements(XName.Get("Option", Ns.Wsman)) ?? [])
            r.Options.Add(((string?)o.Attribute("Name") ?? "", o.Value, string.Equals((string?)o.Attribute("MustComply"), "true", StringComparison.OrdinalIgnoreCase)));
        return r;
    }
}

/// <summary>A SOAP fault to answer with (HTTP 500).</summary>
sealed class FaultException(string code, string subcode, uint wsmanCode, string message, string? faultDetail = null, string? provider = null, string? providerPath = null, bool nested = false) : Exception(message)
{
    public string Code = code, Subcode = subcode;
    public uint WsmanCode = wsmanCode;
    public string? FaultDetail = faultDetail, Provider = provider, ProviderPath = providerPath;
    /// <summary>The provider fault carries a WSManFault of its own (the Shell provider's do).</summary>
    public bool Nested = nested;

    public const uint TimedOut = 0x80338029, InvalidSelectors = 0x8033805B, InvalidHeader = 0x8033800F;

    public static FaultException OperationTimeout() =>
        new("s:Receiver", "w:TimedOut", TimedOut, "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ");

    public static FaultException NoShell() =>
        new("s:Sender", "w:InvalidSelectors", InvalidSelectors, "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ",
            "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors", "Shell provider", "%systemroot%\\system32\\WsmSvc.dll", nested: true);
}

static class Reply
{
    static string Escape(string s) => SecurityElement.Escape(s) ?? "";

    /// <summary>A reply envelope: Windows' header (Action, MessageID, ActivityId, To, RelatesTo) and `body`.</summary>
    public static string Envelope(SoapRequest request, string action, string body, string namespaces = "x w rsp p", bool activity = true)
    {
        var b = new StringBuilder();
        b.Append($"<s:Envelope xml:lang=\"en-US\" xmlns:s=\"{Ns.Soap}\" xmlns:a=\"{Ns.Addressing}\"");
        foreach (string prefix in namespaces.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string uri = prefix switch
            {
                "x" => Ns.Transfer,
                "e" => Ns.Eventing,
                "n" => Ns.Enumeration,
                "w" => Ns.Wsman,
                "rsp" => Ns.Shell,
                "p" => Ns.MsWsman,
                _ => throw new ArgumentException(prefix),
            };
            b.Append($" xmlns:{prefix}=\"{uri}\"");
        }
        b.Append($"><s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{Guid.NewGuid().ToString().ToUpperInvariant()}</a:MessageID>");
        if (activity) b.Append($"<p:ActivityId>{Guid.NewGuid().ToString().ToUpperInvariant()}</p:ActivityId>");
        b.Append($"<a:To>{Ns.Anonymous}</a:To>");
        if (request.MessageId.Length > 0) b.Append($"<a:RelatesTo>{Escape(request.MessageId)}</a:RelatesTo>");
        b.Append($"</s:Header><s:Body>{body}</s:Body></s:Envelope>");
        return b.ToString();
    }

    public static string Fault(SoapRequest request, FaultException f, string machine)
    {
        string message = Escape(f.Message);
        string inner = message;
        if (f.Provider is not null)
        {
            string content = f.Nested
                ? $"<f:WSManFault xmlns:f=\"{Ns.Fault}\" Code=\"{f.WsmanCode}\" Machine=\"{Escape(machine)}\"><f:Message>{message}</f:Message></f:WSManFault>"
                : message;
            inner = $"<f:ProviderFault provider=\"{Escape(f.Provider)}\" path=\"{Escape(f.ProviderPath ?? "")}\">{content}</f:ProviderFault>";
        }
        string detail = (f.FaultDetail is null ? "" : $"<w:FaultDetail>{f.FaultDetail}</w:FaultDetail>")
            + $"<f:WSManFault xmlns:f=\"{Ns.Fault}\" Code=\"{f.WsmanCode}\" Machine=\"{Escape(machine)}\"><f:Message>{inner}</f:Message></f:WSManFault>";
        string body = $"<s:Fault><s:Code><s:Value>{f.Code}</s:Value><s:Subcode><s:Value>{f.Subcode}</s:Value></s:Subcode></s:Code>"
            + $"<s:Reason><s:Text xml:lang=\"en-US\">{message}</s:Text></s:Reason><s:Detail>{detail}</s:Detail></s:Fault>";
        return Envelope(request, Actions.Fault, body, "x e n w p", activity: f.WsmanCode == FaultException.TimedOut);
    }

    public static string Base64Element(string name, byte[] data) => $"<{name} xmlns=\"{Ns.PowerShell}\">{Convert.ToBase64String(data)}</{name}>";

    public static string Escaped(string s) => Escape(s);
}
