using System.Security;
using System.Text;
using System.Text.RegularExpressions;

namespace RemoteSessions.ReplayServer;

/// <summary>An HTTP answer: status, content type and a body written as a stream of known length.</summary>
public sealed class Reply
{
    /// <summary>The content type of every WS-Man answer.</summary>
    public const string SoapContentType = "application/soap+xml;charset=UTF-8";

    /// <summary>HTTP status code.</summary>
    public required int Status { get; init; }
    /// <summary>Content-Type header value.</summary>
    public string ContentType { get; init; } = SoapContentType;
    /// <summary>Body length in bytes (sent as Content-Length).</summary>
    public required long Length { get; init; }
    /// <summary>Writes exactly <see cref="Length"/> bytes of body.</summary>
    public required Func<Stream, CancellationToken, Task> WriteBody { get; init; }

    /// <summary>An answer whose body is a string held in memory.</summary>
    public static Reply Text(int status, string body, string contentType = SoapContentType)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        return new Reply { Status = status, ContentType = contentType, Length = bytes.Length, WriteBody = (s, ct) => s.WriteAsync(bytes, ct).AsTask() };
    }
}

/// <summary>SOAP envelopes the replay server makes itself, in the style of OMI's answers.</summary>
public static partial class Soap
{
    /// <summary>OMI's envelope start tag, with its namespace declarations.</summary>
    public const string OmiEnvelopeStart =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" " +
        "xmlns:wsen=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\" xmlns:e=\"http://schemas.xmlsoap.org/ws/2004/08/eventing\" " +
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:wsmb=\"http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd\" " +
        "xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" xmlns:wxf=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\" " +
        "xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" xmlns:msftwinrm=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\" " +
        "xmlns:wsmid=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\">";

    /// <summary>OMI's envelope header with the given action, a fresh MessageID and RelatesTo when known.</summary>
    public static string OmiHeader(string action, string? relatesTo) =>
        "<SOAP-ENV:Header><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>" +
        $"<wsa:Action>{action}</wsa:Action><wsa:MessageID>uuid:{Guid.NewGuid().ToString().ToUpperInvariant()}</wsa:MessageID>" +
        (relatesTo is null ? "" : $"<wsa:RelatesTo>{SecurityElement.Escape(relatesTo)}</wsa:RelatesTo>") + "</SOAP-ENV:Header>";

    /// <summary>An empty ReleaseResponse.</summary>
    public static string ReleaseResponse(string? relatesTo) =>
        OmiEnvelopeStart + OmiHeader(Ns.Enumeration + "/ReleaseResponse", relatesTo) + "<SOAP-ENV:Body/></SOAP-ENV:Envelope>";

    /// <summary>A SOAP 1.2 Sender fault with the given reason text (the no-match answer).</summary>
    public static string SenderFault(string reason, string? relatesTo) =>
        OmiEnvelopeStart + OmiHeader("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relatesTo) +
        "<SOAP-ENV:Body><SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value></SOAP-ENV:Code>" +
        $"<SOAP-ENV:Reason><SOAP-ENV:Text xml:lang=\"en-US\">{SecurityElement.Escape(reason)}</SOAP-ENV:Text></SOAP-ENV:Reason>" +
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>";

    /// <summary>
    /// A recorded body with its wsa:RelatesTo text (and any <c>{{ … }}</c> placeholder) replaced by the
    /// request's MessageID; unchanged when the request has none.
    /// </summary>
    public static string WithRelatesTo(string body, string? messageId)
    {
        if (messageId is null) return body;
        string escaped = SecurityElement.Escape(messageId);
        body = RelatesTo().Replace(body, m => m.Groups[1].Value + escaped + "</");
        return Placeholder().Replace(body, escaped);
    }

    /// <summary>The first wsen:EnumerationContext value in a body, if any.</summary>
    public static string? EnumerationContextOf(string body)
    {
        Match m = Context().Match(body);
        return m.Success && m.Groups[1].Value.Length > 0 ? m.Groups[1].Value : null;
    }

    [GeneratedRegex(@"(<(?:[\w.-]+:)?RelatesTo(?:\s[^>]*)?>)[^<]*</")]
    private static partial Regex RelatesTo();

    [GeneratedRegex(@"\{\{[^}]*\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"<(?:[\w.-]+:)?EnumerationContext(?:\s[^>]*)?>([^<]*)<")]
    private static partial Regex Context();
}
