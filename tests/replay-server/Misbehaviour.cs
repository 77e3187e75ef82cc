using Microsoft.AspNetCore.Connections.Features;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace RemoteSessions.ReplayServer;

/// <summary>
/// Writes a reply to the client, normally or in one of the misbehaviour modes chosen by the path
/// <c>/misbehave/&lt;mode&gt;/wsman</c>. Modes that act before matching (401, noauth-silent, slow-*,
/// fault500) are handled by <see cref="Endpoint"/>; this class handles how the answer goes out.
/// </summary>
public static class Misbehaviour
{
    /// <summary>Modes the server knows; <c>slow-&lt;ms&gt;</c> is checked separately.</summary>
    public static readonly IReadOnlySet<string> Modes = new HashSet<string>
    {
        "401", "fault500", "truncated", "content-type", "drop", "split", "noauth-silent", "garbage", "empty-pulls",
    };

    /// <summary>True for a known mode name (the hostile ones of <see cref="Hostile"/> too).</summary>
    public static bool IsKnown(string mode) => Modes.Contains(mode) || SlowMilliseconds(mode) is not null || Hostile.IsKnown(mode);

    /// <summary>The delay of a <c>slow-&lt;ms&gt;</c> mode, else null.</summary>
    public static int? SlowMilliseconds(string? mode) =>
        mode is not null && mode.StartsWith("slow-", StringComparison.Ordinal) && int.TryParse(mode[5..], out int ms) && ms >= 0 ? ms : null;

    /// <summary>
    /// The <c>empty-pulls</c> answer to an Enumerate or Pull: a page with no items and a fresh context,
    /// never an EndOfSequence (an enumeration that never ends). Null for other requests, which are
    /// answered normally.
    /// </summary>
    public static Reply? EmptyPage(PortState state, string xml)
    {
        RequestShape req;
        try { req = RequestShape.Parse(xml); }
        catch (System.Xml.XmlException) { return null; }
        bool pull = req.Action == Ns.PullAction;
        if (!pull && req.Action != Ns.EnumerateAction) return null;
        string context;
        lock (state.Lock)
        {
            context = (state.NextContext++).ToString();
            state.Log.Add($"empty-pulls {req.ActionName} {req.ClassName}");
        }
        return Synthetic.Page(pull, context, 0, 0, false, req.MessageId);
    }

    /// <summary>Sends <paramref name="reply"/> as the mode says (null: normally).</summary>
    public static async Task SendAsync(HttpContext ctx, Reply reply, string? mode)
    {
        HttpResponse response = ctx.Response;
        CancellationToken aborted = ctx.RequestAborted;
        switch (mode)
        {
            case "drop":
                ctx.Abort(); // no status line at all: the client sees the connection close
                return;
            case "garbage":
                reply = Reply.Text(200, "replay: garbage <<< this is & not XML >>>");
                break;
            case "content-type":
                reply = new Reply { Status = reply.Status, ContentType = "text/html", Length = reply.Length, WriteBody = reply.WriteBody };
                break;
        }
        response.StatusCode = reply.Status;
        response.ContentType = reply.ContentType;
        response.ContentLength = reply.Length;
        switch (mode)
        {
            case "truncated":
                // Full Content-Length, half the body, then close.
                await reply.WriteBody(new PrefixStream(response.Body, reply.Length / 2), aborted);
                await response.Body.FlushAsync(aborted);
                // Give Kestrel's socket sender a moment to put the flushed bytes on the wire: Abort
                // tears the connection down at once and may drop output still queued in its pipe.
                await Task.Delay(100, aborted);
                ctx.Abort();
                return;
            case "split":
                // As OMI: the status line and headers in one write, the body in another, with Nagle's
                // algorithm on. The kernel then holds the body back until the client has acknowledged
                // the headers, so a client that delays its ACKs (Linux: up to ~40 ms in interactive
                // mode) waits that long for every reply; one that acknowledges at once does not.
                Socket? socket = ctx.Features.Get<IConnectionSocketFeature>()?.Socket;
                uint segmentsBefore = socket is null ? 0 : DataSegmentsOut(socket);
                await response.StartAsync(aborted);
                await response.Body.FlushAsync(aborted);
                if (socket is not null)
                {
                    // Kestrel sends from a pipe of its own: wait (briefly) until the headers have left, so
                    // the body cannot join their segment, then let Nagle hold the body back.
                    var waited = System.Diagnostics.Stopwatch.StartNew();
                    while (DataSegmentsOut(socket) == segmentsBefore && waited.ElapsedMilliseconds < 100) await Task.Yield();
                    socket.NoDelay = false;
                }
                break;
        }
        await reply.WriteBody(response.Body, aborted);
    }

    /// <summary>
    /// How many segments carrying data <paramref name="socket"/> has sent: <c>tcpi_data_segs_out</c> of Linux's
    /// <c>struct tcp_info</c> (getsockopt IPPROTO_TCP 6, TCP_INFO 11; a u32 at byte 156).
    /// </summary>
    private static uint DataSegmentsOut(Socket socket)
    {
        var info = new byte[232];
        int n = socket.GetRawSocketOption(6, 11, info);
        return n >= 160 ? BitConverter.ToUInt32(info, 156) : 0;
    }

    /// <summary>A write-only stream that passes on the first <c>limit</c> bytes and drops the rest.</summary>
    private sealed class PrefixStream(Stream inner, long limit) : Stream
    {
        private long _left = limit;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            int n = (int)Math.Min(_left, buffer.Length);
            _left -= n;
            if (n > 0) await inner.WriteAsync(buffer[..n], ct);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();
    }
}
