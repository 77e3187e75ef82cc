using System.Text;

namespace RemoteSessions.ReplayServer;

/// <summary>An enumeration of generated XYZ_Number instances in progress.</summary>
/// <param name="Total">How many instances the enumeration has (N).</param>
/// <param name="PageSize">MaxElements of the Enumerate (M).</param>
public sealed class SyntheticEnumeration(long total, int pageSize)
{
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

    /// <summary>One instance; Number and NumberString are <paramref name="n"/>.</summary>
    public static string Item(long n) =>
        "<p:XYZ_Number xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/XYZ_Number\">" +
        $"<p:Description>This is a long long long long string</p:Description><p:Number>{n}</p:Number><p:NumberString>{n}</p:NumberString></p:XYZ_Number>";

    private static int Digits(long n) => n < 10 ? 1 : 1 + Digits(n / 10);

    /// <summary>
    /// An EnumerateResponse (<paramref name="pull"/> false; items under wsman:Items) or PullResponse
    /// (items under wsen:Items) with instances [first, first+count) and EndOfSequence when <paramref name="last"/>.
    /// </summary>
    public static Reply Page(bool pull, string context, long first, long count, bool last, string? relatesTo)
    {
        string action = Ns.Enumeration + (pull ? "/PullResponse" : "/EnumerateResponse");
        string op = pull ? "wsen:PullResponse" : "wsen:EnumerateResponse";
        string items = pull ? "wsen:Items" : "wsman:Items";
        string end = last ? (pull ? "<wsen:EndOfSequence/>" : "<wsman:EndOfSequence/>") : "";
        string head = Soap.OmiEnvelopeStart + Soap.OmiHeader(action, relatesTo) +
            $"<SOAP-ENV:Body><{op}><wsen:EnumerationContext>{context}</wsen:EnumerationContext><{items}>";
        string tail = $"</{items}>{end}</{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>";
        long length = Encoding.UTF8.GetByteCount(head) + Encoding.UTF8.GetByteCount(tail);
        for (long i = first; i < first + count; i++) length += ItemFixedLength + 2 * Digits(i);
        return new Reply
        {
            Status = 200,
            Length = length,
            WriteBody = async (stream, ct) =>
            {
                var chunk = new StringBuilder(head, 40_000);
                for (long i = first; i < first + count; i++)
                {
                    chunk.Append(Item(i));
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
}
