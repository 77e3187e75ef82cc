using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace RemoteSessions.ReplayServer;

/// <summary>
/// The HTTP surface: <c>POST /wsman</c>, <c>POST /misbehave/&lt;mode&gt;/wsman</c>,
/// <c>GET|DELETE /replay/requests</c>. State (cursors, log) is kept per local port.
/// </summary>
/// <param name="replayer">Finds the answers.</param>
/// <param name="user">The Basic user name to accept.</param>
/// <param name="password">The Basic password to accept.</param>
public sealed class Endpoint(Replayer replayer, string user, string password)
{
    private readonly ConcurrentDictionary<int, PortState> _states = new();
    private readonly string _expectedAuth = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    /// <summary>The Authorization value of WinRM's client certificate authentication (DSP0226 HTTPS mutual security profile).</summary>
    public const string MutualAuthorization = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual";

    /// <summary>
    /// The HTTPS port that requires a client certificate (0: none). Requests there must carry
    /// <see cref="MutualAuthorization"/> instead of Basic credentials, and come with a certificate.
    /// </summary>
    public int MutualPort { get; set; }

    /// <summary>Handles one HTTP request.</summary>
    public async Task HandleAsync(HttpContext ctx)
    {
        PortState state = _states.GetOrAdd(ctx.Connection.LocalPort, _ => new PortState());
        string path = ctx.Request.Path.Value ?? "";
        if (path == "/replay/requests")
        {
            await RequestLogAsync(ctx, state);
            return;
        }
        string? mode = null;
        if (path.StartsWith("/misbehave/", StringComparison.Ordinal) && path.EndsWith("/wsman", StringComparison.Ordinal))
            mode = path["/misbehave/".Length..^"/wsman".Length];
        else if (path != "/wsman")
        {
            ctx.Response.StatusCode = 404;
            return;
        }
        if (mode is not null && !Misbehaviour.IsKnown(mode))
        {
            await Reply.Text(400, Soap.SenderFault($"replay: unknown misbehaviour mode '{mode}'", null)).WriteToAsync(ctx);
            return;
        }
        if (!HttpMethods.IsPost(ctx.Request.Method))
        {
            ctx.Response.StatusCode = 405;
            return;
        }
        string? auth = ctx.Request.Headers.Authorization;
        if (auth is null && mode == "noauth-silent")
        {
            // As OMI: no answer at all to a request without credentials; the connection stays open.
            try { await Task.Delay(Timeout.Infinite, ctx.RequestAborted); } catch (OperationCanceledException) { }
            return;
        }
        bool mutual = MutualPort != 0 && ctx.Connection.LocalPort == MutualPort;
        string expected = mutual ? MutualAuthorization : _expectedAuth;
        if (mutual && ctx.Connection.ClientCertificate is null)
        {
            Console.Error.WriteLine("replay: a request on the client-certificate port came without a certificate");
            expected = "(a client certificate)";
        }
        if (mode == "401" || auth != expected)
        {
            ctx.Response.StatusCode = 401;
            ctx.Response.Headers.WWWAuthenticate = "Basic realm=\"WSMAN\"";
            ctx.Response.ContentLength = 0;
            return;
        }
        string xml;
        using (var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
            xml = await reader.ReadToEndAsync(ctx.RequestAborted);
        if (mode == "empty-pulls" && Misbehaviour.EmptyPage(state, xml) is { } empty)
        {
            await empty.WriteToAsync(ctx);
            return;
        }
        var traits = new RequestTraits(
            ctx.Request.IsHttps,
            ctx.Request.Headers.UserAgent.ToString().Contains("Microsoft WinRM Client", StringComparison.Ordinal),
            long.TryParse(ctx.Request.Query["synthetic"], out long n) && n >= 0 ? n : null);
        (Reply reply, string? noMatch) = Hostile.Answer(mode, xml) is { } hostile ? (hostile, null) : replayer.Answer(state, xml, traits);
        if (noMatch is not null) Console.Error.WriteLine($"{noMatch} [port {ctx.Connection.LocalPort}]");
        if (Misbehaviour.SlowMilliseconds(mode) is int ms) await Task.Delay(ms, ctx.RequestAborted);
        if (mode == "fault500")
            reply = Reply.Text(500, Soap.WithRelatesTo(replayer.Fixtures.NotFoundFault, MessageIdOf(xml)));
        await Misbehaviour.SendAsync(ctx, reply, mode);
    }

    private static async Task RequestLogAsync(HttpContext ctx, PortState state)
    {
        string text;
        lock (state.Lock)
        {
            if (HttpMethods.IsDelete(ctx.Request.Method)) state.Log.Clear();
            text = string.Concat(state.Log.Select(l => l + "\n"));
        }
        await Reply.Text(200, text, "text/plain;charset=UTF-8").WriteToAsync(ctx);
    }

    private static string? MessageIdOf(string xml)
    {
        try { return RequestShape.Parse(xml).MessageId; }
        catch (System.Xml.XmlException) { return null; }
    }
}

/// <summary>Writing a <see cref="Reply"/> as an ordinary HTTP response.</summary>
public static class ReplyExtensions
{
    /// <summary>Sets status, Content-Type and Content-Length and writes the body.</summary>
    public static Task WriteToAsync(this Reply reply, HttpContext ctx) => Misbehaviour.SendAsync(ctx, reply, null);
}
