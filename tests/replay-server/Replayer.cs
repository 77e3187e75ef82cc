using System.Xml;

namespace RemoteSessions.ReplayServer;

/// <summary>What the replay server keeps per listening port: sequence cursors, synthetic enumerations, the request log.</summary>
public sealed class PortState
{
    /// <summary>Guards every member.</summary>
    public object Lock { get; } = new();
    /// <summary>Next answer index per (group, request EnumerationContext or "").</summary>
    public Dictionary<(int Group, string Context), int> Cursors { get; } = [];
    /// <summary>Synthetic enumerations by context.</summary>
    public Dictionary<string, SyntheticEnumeration> Synthetic { get; } = [];
    /// <summary>One line per request: <c>&lt;fixture or NOMATCH&gt; &lt;action&gt; &lt;class&gt;</c>.</summary>
    public List<string> Log { get; } = [];
    /// <summary>Contexts of recorded enumerations asked for as EnumerateObjectAndEPR: their Pulls' items get EPRs too.</summary>
    public HashSet<string> EprContexts { get; } = [];
    /// <summary>The next synthetic context number.</summary>
    public long NextContext { get; set; } = 700_000_001;
}

/// <summary>How the request came: traits that pick between recordings of the same request.</summary>
/// <param name="Https">Over TLS (prefers <c>*-https*</c> recordings).</param>
/// <param name="WinRmUserAgent">User-Agent "Microsoft WinRM Client" (prefers <c>*-winrmua</c> recordings).</param>
/// <param name="SyntheticCount">N from <c>?synthetic=N</c>, if given.</param>
public sealed record RequestTraits(bool Https, bool WinRmUserAgent, long? SyntheticCount);

/// <summary>Finds the answer to a WS-Man request among the fixtures (or makes it: Release, synthetic pages).</summary>
/// <param name="fixtures">The loaded fixtures.</param>
public sealed class Replayer(FixtureSet fixtures)
{
    /// <summary>The loaded fixtures.</summary>
    public FixtureSet Fixtures { get; } = fixtures;

    /// <summary>Answers one request body and appends its line to the port's log.</summary>
    /// <returns>The reply, and a no-match explanation (null when matched) for stderr.</returns>
    public (Reply Reply, string? NoMatch) Answer(PortState state, string xml, RequestTraits traits)
    {
        RequestShape req;
        try
        {
            req = RequestShape.Parse(xml);
        }
        catch (XmlException e)
        {
            string reason = $"replay: no fixture matches: the request is not a SOAP 1.2 envelope ({e.Message})";
            lock (state.Lock) state.Log.Add("NOMATCH - -");
            return (Reply.Text(400, Soap.SenderFault(reason, null)), reason);
        }
        lock (state.Lock)
        {
            (Reply reply, string logName, string? noMatch) = AnswerLocked(state, req, traits);
            state.Log.Add($"{logName} {req.ActionName} {req.ClassName}");
            return (reply, noMatch);
        }
    }

    private (Reply, string, string?) AnswerLocked(PortState state, RequestShape req, RequestTraits traits)
    {
        if (req.Action == Ns.ReleaseAction)
        {
            if (req.EnumerationContext is { } released) Forget(state, released);
            return (Reply.Text(200, Soap.ReleaseResponse(req.MessageId)), "release", null);
        }
        if (Busy(state, req) is { } busy)
            return (Reply.Text(500, Soap.SenderFault(busy, req.MessageId)), "busy", busy);
        if (traits.SyntheticCount is not null && Synthetic.ClassDeclaration(req) is { } declaration)
            return (Reply.Text(200, declaration), "synthetic", null);
        if (traits.SyntheticCount is not null && Synthetic.Spell(req) is { } spelled)
            return (Reply.Text(spelled.Status, spelled.Body), "synthetic", null);
        if (traits.SyntheticCount is long total && req.Action == Ns.EnumerateAction
            && Synthetic.Associators(req, total, state.NextContext.ToString()) is { } associated)
        {
            state.NextContext++;
            return (Reply.Text(200, associated), "synthetic", null);
        }
        if (traits.SyntheticCount is long n && req.Action == Ns.EnumerateAction && req.ResourceUri == Synthetic.ClassUri)
        {
            string context = (state.NextContext++).ToString();
            var e = new SyntheticEnumeration(n, req.MaxElements ?? 1, req.ObjectAndEpr);
            state.Synthetic[context] = e;
            long count = req.Optimized ? Synthetic.Fit(0, Math.Min(e.PageSize, n), req.MaxEnvelopeSize, e.WithEpr) : 0;
            e.Next = count;
            e.Done = req.Optimized && count == n;
            return (Synthetic.Page(false, context, 0, count, req.Optimized && count == n, req.MessageId, e.WithEpr), "synthetic", null);
        }
        if (req.Action == Ns.PullAction && req.EnumerationContext is { } ctx && state.Synthetic.TryGetValue(ctx, out var running))
        {
            if (running.Done)
                return (Reply.Text(500, Soap.WithRelatesTo(Fixtures.ContextNotFoundFault, req.MessageId)), "synthetic", null);
            long first = running.Next;
            long count = Synthetic.Fit(first, Math.Min(req.MaxElements ?? running.PageSize, running.Total - first), req.MaxEnvelopeSize, running.WithEpr);
            running.Next = first + count;
            bool last = running.Next >= running.Total;
            running.Done = last; // a further Pull gets "context not found", as from OMI
            return (Synthetic.Page(true, ctx, first, count, last, req.MessageId, running.WithEpr), "synthetic", null);
        }
        // An EnumerateObjectAndEPR request that no recording asked is answered from the recording of the
        // same request for objects only, each item given its EPR (as Windows' client asks and OMI answers).
        bool addEprs = false;
        if (!Fixtures.ByKey.TryGetValue(req.Key, out var groups) && req.KeyWithoutMode is { } objectsOnly)
            addEprs = Fixtures.ByKey.TryGetValue(objectsOnly, out groups);
        if (groups is not null)
        {
            ExchangeGroup group = Choose(groups, traits);
            var key = (group.Id, req.EnumerationContext ?? "");
            int index = state.Cursors.GetValueOrDefault(key);
            state.Cursors[key] = index + 1;
            Recorded answer = group.Sequence[Math.Min(index, group.Sequence.Count - 1)];
            if (req.Action == Ns.PullAction && req.EnumerationContext is { } pulled && state.EprContexts.Contains(pulled)) addEprs = true;
            string body = Soap.WithRelatesTo(addEprs ? ObjectAndEpr.AddEprs(answer.Body) : answer.Body, req.MessageId);
            if (req.Action == Ns.EnumerateAction && Soap.EnumerationContextOf(body) is { } returned)
            {
                state.Cursors.Keys.Where(k => k.Context == returned).ToList().ForEach(k => state.Cursors.Remove(k));
                if (addEprs) state.EprContexts.Add(returned); else state.EprContexts.Remove(returned);
            }
            return (Reply.Text(answer.Status, body), answer.Name, null);
        }
        string reason = Explain(req);
        return (Reply.Text(400, Soap.SenderFault(reason, req.MessageId)), "NOMATCH", reason);
    }

    /// <summary>
    /// Why <paramref name="req"/> is refused while a synthetic enumeration of the port is open (not at its
    /// EndOfSequence, not released): as OMI, which runs one user's operations one at a time, only a Pull
    /// or Release of that enumeration is answered meanwhile. OMI never answers the others at all, so a
    /// client that sends one waits for its operation timeout; a fault says so at once. Null when free.
    /// </summary>
    private static string? Busy(PortState state, RequestShape req)
    {
        foreach ((string context, SyntheticEnumeration e) in state.Synthetic)
        {
            if (e.Done || (req.Action == Ns.PullAction && req.EnumerationContext == context)) continue;
            return $"replay: enumeration context {context} is still open; a server that runs one user's operations " +
                $"one at a time (as OMI) would never answer this {req.ActionName} of {req.ClassName}";
        }
        return null;
    }

    private static void Forget(PortState state, string context)
    {
        state.EprContexts.Remove(context);
        state.Synthetic.Remove(context);
        state.Cursors.Keys.Where(k => k.Context == context).ToList().ForEach(k => state.Cursors.Remove(k));
    }

    /// <summary>The group recorded with the most of the request's traits and none it lacks.</summary>
    private static ExchangeGroup Choose(IReadOnlyList<ExchangeGroup> groups, RequestTraits traits)
    {
        var have = new HashSet<string>();
        if (traits.Https) have.Add("https");
        if (traits.WinRmUserAgent) have.Add("winrmua");
        return groups.Where(g => g.Members[0].Tags.IsSubsetOf(have)).MaxBy(g => g.Members[0].Tags.Count) ?? groups[0];
    }

    /// <summary>"replay: no fixture matches ...; closest is '&lt;name&gt;' (folder): &lt;first difference&gt; (+k more)".</summary>
    public string Explain(RequestShape req)
    {
        var best = Fixtures.All.Select(e => (e, c: Matcher.Compare(e.Request, req)))
            .OrderBy(x => x.c.Distance).ThenBy(x => Matcher.TextDistance(x.e.Request.Key, req.Key))
            .First(); // stable: remaining ties go to the first loaded (curl, omicli, posthttp)
        var diffs = best.c.Differences;
        string more = diffs.Count > 1 ? $" (+{diffs.Count - 1} more difference{(diffs.Count > 2 ? "s" : "")})" : "";
        return $"replay: no fixture matches this request; closest is '{best.e.Name}' ({best.e.Folder}): {diffs.FirstOrDefault() ?? "?"}{more}";
    }
}
