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
        "401", "fault500", "truncated", "content-type", "drop", "split", "noauth-silent", "garbage",
    };

    /// <summary>True for a known mode name (the hostile ones of <see cref="Hostile"/> too).</summary>
    public static bool IsKnown(string mode) => Modes.Contains(mode) || SlowMilliseconds(mode) is not null || Hostile.IsKnown(mode);

    /// <summary>The delay of a <c>slow-&lt;ms&gt;</c> mode, else null.</summary>
    public static int? SlowMilliseconds(string? mode) =>
        mode is not null && mode.StartsWith("slow-", StringComparison.Ordinal) && int.TryParse(mode[5..], out int ms) && ms >= 0 ? ms : null;

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
                // Status line and headers in one write, the body in another after 50 ms, as OMI does.
                await response.StartAsync(aborted);
                await response.Body.FlushAsync(aborted);
                await Task.Delay(50, aborted);
                break;
        }
        await reply.WriteBody(response.Body, aborted);
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
