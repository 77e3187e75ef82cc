// WinRS on top of the plugin: the shells and commands the endpoint keeps, their output buffers (WinRM's
// own buffering: the plugin's output is taken as it comes and held until a client Receive asks for it,
// while the shell is disconnected too), and each WS-Management operation.
using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace RemoteSessions.WsmanEndpoint;

sealed class Command
{
    public required string Id;
    public required Operation Create;
    public IntPtr Context;
    public Operation? Receive;
    public bool Done;
    public int ExitCode;
}

sealed class Shell
{
    public required string Id;
    public string? Name;
    public required string ResourceUri;
    public required string Owner;
    public required string ClientIp;
    public required string Locale;
    public string DataLocale = "en-US";
    public string InputStreams = "stdin pr";
    public string OutputStreams = "stdout";
    public bool ProfileLoaded = true;
    public readonly DateTime Created = DateTime.UtcNow;
    public DateTime LastActivity = DateTime.UtcNow;
    public TimeSpan IdleTimeout;
    public string State = "Connected";
    public string? SessionId;
    public required Operation Create;
    public object? Session;
    public EventWaitHandle? Shutdown;
    public Operation? Receive;
    /// <summary>The plugin ended the shell (OperationComplete on the Create request).</summary>
    public (int Code, string? Info)? Ended;
    public readonly Dictionary<string, Command> Commands = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Output not yet received, by command id ("" for the shell's own); Pending: the plugin sent it with CommandState Pending (a host call waits for the client).</summary>
    public readonly Dictionary<string, List<(byte[] Data, bool Pending)>> Output = new(StringComparer.OrdinalIgnoreCase);
    public readonly object Lock = new();
    TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IntPtr Context => Create.Request;

    public void Notify()
    {
        TaskCompletionSource old;
        lock (Lock) { old = changed; changed = new(TaskCreationOptions.RunContinuationsAsynchronously); }
        old.TrySetResult();
    }

    public Task Changed { get { lock (Lock) return changed.Task; } }

    public void Append(string key, byte[] data, bool pending = false)
    {
        lock (Lock)
        {
            if (!Output.TryGetValue(key, out List<(byte[], bool)>? list)) Output[key] = list = [];
            list.Add((data, pending));
        }
        Notify();
    }

    public int Buffered { get { lock (Lock) return Output.Values.Sum(l => l.Count); } }
}

sealed class Service(Options options)
{
    readonly Dictionary<string, Shell> shells = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, Queue<string>> enumerations = new();
    readonly object sync = new();

    static string NewId() => Guid.NewGuid().ToString().ToUpperInvariant();

    TimeSpan Idle(TimeSpan requested) => requested < TimeSpan.FromMilliseconds(options.MinIdleMs) ? TimeSpan.FromMilliseconds(options.MinIdleMs) : requested;

    public async Task<string> HandleAsync(SoapRequest r, Caller caller)
    {
        string action = r.Action;
        if (r.Body.Element(XName.Get("Identify", Ns.Identity)) is not null) return Identify();
        return action switch
        {
            Actions.Create => await CreateAsync(r, caller),
            Actions.Delete => await DeleteAsync(r, caller),
            Actions.Get when r.ResourceUri == Ns.Config => Config(r),
            Actions.Get => GetShell(r, caller),
            Actions.Enumerate => Enumerate(r, caller),
            Actions.Pull => Pull(r),
            Actions.Shell + "Command" => await CommandAsync(r, caller),
            Actions.Shell + "Send" => await SendAsync(r, caller),
            Actions.Shell + "Receive" => await ReceiveAsync(r, caller),
            Actions.Shell + "Signal" => await SignalAsync(r, caller),
            Actions.Shell + "Disconnect" => Disconnect(r, caller),
            Actions.Shell + "Reconnect" => Reconnect(r, caller),
            Actions.Shell + "Connect" => await ConnectAsync(r, caller),
            _ => throw new FaultException("s:Sender", "a:ActionNotSupported", 0x80338001, $"The WS-Management service cannot process the request because the action '{action}' is not supported. "),
        };
    }

    static string Identify() =>
        $"<s:Envelope xmlns:s=\"{Ns.Soap}\" xmlns:wsmid=\"{Ns.Identity}\"><s:Header/><s:Body><wsmid:IdentifyResponse>"
        + $"<wsmid:ProtocolVersion>{Ns.Wsman}</wsmid:ProtocolVersion><wsmid:ProductVendor>RemoteSessions test endpoint</wsmid:ProductVendor>"
        + $"<wsmid:ProductVersion>OS: {Environment.OSVersion.Version} SP: 0.0 Stack: 3.0 PowerShell: {System.Management.Automation.PSVersionInfo.PSVersion}</wsmid:ProductVersion>"
        + "</wsmid:IdentifyResponse></s:Body></s:Envelope>";

    string Config(SoapRequest r) =>
        Reply.Envelope(r, "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse",
            $"<cfg:Config xmlns:cfg=\"{Ns.Config}\"><cfg:MaxEnvelopeSizekb>{options.MaxEnvelopeKb}</cfg:MaxEnvelopeSizekb><cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems>"
            + "<cfg:MaxProviderRequests>4294967295</cfg:MaxProviderRequests><cfg:Service><cfg:MaxConcurrentOperationsPerUser>1500</cfg:MaxConcurrentOperationsPerUser><cfg:AllowUnencrypted>true</cfg:AllowUnencrypted>"
            + "<cfg:Auth><cfg:Basic>true</cfg:Basic><cfg:Kerberos>false</cfg:Kerberos><cfg:Negotiate>false</cfg:Negotiate><cfg:Certificate>false</cfg:Certificate><cfg:CredSSP>false</cfg:CredSSP></cfg:Auth></cfg:Service>"
            + $"<cfg:Winrs><cfg:AllowRemoteShellAccess>true</cfg:AllowRemoteShellAccess><cfg:IdleTimeout>7200000</cfg:IdleTimeout></cfg:Winrs></cfg:Config>",
            "x w p", activity: false);

    Shell Find(SoapRequest r, Caller caller)
    {
        if (!r.Selectors.TryGetValue("ShellId", out string? id)) throw FaultException.NoShell();
        lock (sync)
        {
            if (shells.TryGetValue(id, out Shell? shell) && shell.Owner == caller.User) return shell;
        }
        throw FaultException.NoShell();
    }

    static FaultException Disconnected() =>
        new("s:Receiver", "w:InternalError", 0x803381C4, "The request is not supported when the shell is disconnected. ", provider: "Shell provider", providerPath: "%systemroot%\\system32\\WsmSvc.dll", nested: true);

    static FaultException PluginFault(string configuration, int code, string? info) =>
        new("s:Receiver", "w:InternalError", unchecked((uint)code), (info is { Length: > 0 } ? info : $"The plugin failed with error 0x{code:X8}.") + " ",
            provider: configuration, providerPath: "libpsrpomiprov.so");

    static string Configuration(string uri) => uri.StartsWith(Ns.PowerShell + "/", StringComparison.Ordinal) ? uri[(Ns.PowerShell.Length + 1)..] : uri;

    static async Task<T?> Within<T>(Task<T> task, TimeSpan timeout) where T : struct
    {
        Task done = await Task.WhenAny(task, Task.Delay(timeout));
        return done == task ? task.Result : null;
    }

    // ---- Create ----

    async Task<string> CreateAsync(SoapRequest r, Caller caller)
    {
        XElement body = r.Body.Element(XName.Get("Shell", Ns.Shell)) ?? throw new FaultException("s:Sender", "w:SchemaValidationError", 0x80338043, "The SOAP XML in the message does not match the corresponding XML schema definition. ");
        if (!r.ResourceUri.StartsWith(Ns.PowerShell + "/", StringComparison.Ordinal))
            throw new FaultException("s:Sender", "w:DestinationUnreachable", 0x80338012, $"The WS-Management service cannot process the request. The resource URI ({r.ResourceUri}) was not found in the WS-Management catalog. ");
        string id = (string?)body.Attribute("ShellId") is { Length: > 0 } chosen ? chosen.ToUpperInvariant() : NewId();
        lock (sync)
        {
            if (shells.ContainsKey(id)) throw new FaultException("s:Sender", "w:AlreadyExists", 0x803381E4, "The WS-Management service cannot create the resource because it already exists. ");
        }
        string? Child(string name) => body.Element(XName.Get(name, Ns.Shell))?.Value.Trim();
        TimeSpan requested = Child("IdleTimeOut") is { } idle ? XmlConvert.ToTimeSpan(idle) : TimeSpan.FromMilliseconds(7200000);
        string? creation = body.Element(XName.Get("creationXml", Ns.PowerShell))?.Value.Trim();
        var create = Plugin.NewRequest("Create", caller, r.ResourceUri, r.Options);
        var shell = new Shell
        {
            Id = id,
            Name = (string?)body.Attribute("Name") ?? Child("Name"),
            ResourceUri = r.ResourceUri,
            Owner = caller.User,
            ClientIp = caller.ClientIp,
            Locale = r.Locale,
            IdleTimeout = Idle(requested),
            InputStreams = Child("InputStreams") ?? "stdin pr",
            OutputStreams = Child("OutputStreams") ?? "stdout",
            ProfileLoaded = !r.Options.Any(o => o.Name == "WINRS_NOPROFILE" && o.Value.Equals("TRUE", StringComparison.OrdinalIgnoreCase)),
            SessionId = r.SessionId,
            Create = create,
        };
        string extraInfo = "<InitializationParameters><Param Name=\"PSVersion\" Value=\"7.0\"/></InitializationParameters>";
        try
        {
            (shell.Session, shell.Shutdown) = await Task.Run(() => Plugin.CreateShell(create, extraInfo, shell.InputStreams.Split(' ', StringSplitOptions.RemoveEmptyEntries), shell.OutputStreams.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                (uint)shell.IdleTimeout.TotalMilliseconds, shell.Name, creation is null ? null : Plugin.CreationXml(creation)));
        }
        catch (PluginRefusedException)
        {
            var (code, info) = await create.Completed.Task;
            Plugin.Release(create);
            throw PluginFault(Configuration(r.ResourceUri), code, info);
        }
        catch (Exception e)
        {
            Log.Event($"create: {e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("System.Management"))?.Trim()}");
            Plugin.Release(create);
            throw PluginFault(Configuration(r.ResourceUri), unchecked((int)0x80540FA0), e.Message);
        }
        _ = create.Completed.Task.ContinueWith(t =>
        {
            shell.Ended = t.Result;
            Log.Event($"shell {shell.Id}: the plugin ended it (0x{t.Result.Code:X8})");
            shell.Notify();
        }, TaskScheduler.Default);
        // WinRM takes the plugin's output as it comes: open the shell's stream now.
        var receive = Plugin.NewRequest("Receive", caller, r.ResourceUri, []);
        receive.Received = (flags, stream, data, state, exit) => { if (data is { Length: > 0 }) shell.Append("", data); };
        shell.Receive = receive;
        Plugin.Receive(receive, shell.Context, IntPtr.Zero);
        lock (sync) shells[id] = shell;
        Log.Event($"shell {id}: created ({shell.ResourceUri}, name {shell.Name ?? "-"}, idle timeout {shell.IdleTimeout.TotalMilliseconds} ms, owner {shell.Owner})");
        string created = $"<x:ResourceCreated><a:Address>{Reply.Escaped(r.To)}</a:Address><a:ReferenceParameters><w:ResourceURI>{Reply.Escaped(r.ResourceUri)}</w:ResourceURI>"
            + $"<w:SelectorSet><w:Selector Name=\"ShellId\">{id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>";
        return Reply.Envelope(r, "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", created + ShellXml(shell, full: false));
    }

    static string Duration(TimeSpan t) => $"P{(int)t.TotalDays}DT{t.Hours}H{t.Minutes}M{t.Seconds}S";

    static string Seconds(TimeSpan t) => "PT" + t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + "S";

    string ShellXml(Shell s, bool full)
    {
        var b = new StringBuilder($"<rsp:Shell xmlns:rsp=\"{Ns.Shell}\"><rsp:ShellId>{s.Id}</rsp:ShellId>");
        if (s.Name is not null) b.Append($"<rsp:Name>{Reply.Escaped(s.Name)}</rsp:Name>");
        b.Append($"<rsp:ResourceUri>{Reply.Escaped(s.ResourceUri)}</rsp:ResourceUri><rsp:Owner>{Reply.Escaped(s.Owner)}</rsp:Owner><rsp:ClientIP>{s.ClientIp}</rsp:ClientIP>");
        b.Append($"<rsp:ProcessId>{Environment.ProcessId}</rsp:ProcessId><rsp:IdleTimeOut>{Seconds(s.IdleTimeout)}</rsp:IdleTimeOut>");
        b.Append($"<rsp:InputStreams>{s.InputStreams}</rsp:InputStreams><rsp:OutputStreams>{s.OutputStreams}</rsp:OutputStreams><rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut>");
        b.Append($"<rsp:Locale>{s.Locale}</rsp:Locale><rsp:DataLocale>{s.DataLocale}</rsp:DataLocale><rsp:CompressionMode>NoCompression</rsp:CompressionMode>");
        b.Append($"<rsp:ProfileLoaded>{(s.ProfileLoaded ? "Yes" : "No")}</rsp:ProfileLoaded><rsp:Encoding>UTF8</rsp:Encoding><rsp:BufferMode>Block</rsp:BufferMode>");
        DateTime now = DateTime.UtcNow;
        b.Append($"<rsp:State>{s.State}</rsp:State><rsp:ShellRunTime>{Duration(now - s.Created)}</rsp:ShellRunTime><rsp:ShellInactivity>{Duration(now - s.LastActivity)}</rsp:ShellInactivity>");
        if (full) b.Append($"<rsp:MemoryUsed>{Environment.WorkingSet / (1024 * 1024)}MB</rsp:MemoryUsed><rsp:ChildProcesses>0</rsp:ChildProcesses>");
        b.Append("</rsp:Shell>");
        return b.ToString();
    }

    // ---- Delete ----

    async Task<string> DeleteAsync(SoapRequest r, Caller caller)
    {
        Shell shell = Find(r, caller);
        lock (sync) shells.Remove(shell.Id);
        await CloseAsync(shell, "deleted by the client");
        return Reply.Envelope(r, "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", "", "w p");
    }

    /// <summary>WinRM's shutdown notification of the shell: the plugin closes the session and its commands.</summary>
    static async Task CloseAsync(Shell shell, string why)
    {
        int lost = shell.Buffered;
        if (shell.Ended is null && shell.Shutdown is not null)
        {
            shell.Shutdown.Set();
            // The plugin reports the close as OperationComplete of the Create (0x80540FA0, "operation closed").
            await Within(shell.Create.Completed.Task, TimeSpan.FromSeconds(10));
        }
        shell.State = "Closed";
        shell.Notify();
        Log.Event($"shell {shell.Id}: closed, {why}{(lost > 0 ? $"; {lost} output chunks not received were dropped" : "")}");
    }

    // ---- Get / Enumerate / Pull ----

    string GetShell(SoapRequest r, Caller caller) =>
        Reply.Envelope(r, "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse", ShellXml(Touch(Find(r, caller), touch: false), full: true), "x w p", activity: false);

    static Shell Touch(Shell s, bool touch = true)
    {
        if (touch) s.LastActivity = DateTime.UtcNow;
        return s;
    }

    string Enumerate(SoapRequest r, Caller caller)
    {
        XElement enumerate = r.Body.Element(XName.Get("Enumerate", Ns.Enumeration)) ?? new XElement("x");
        bool optimize = enumerate.Element(XName.Get("OptimizeEnumeration", Ns.Wsman)) is not null;
        int max = int.TryParse(enumerate.Element(XName.Get("MaxElements", Ns.Wsman))?.Value, out int m) ? m : 1;
        List<string> items;
        if (r.ResourceUri.Equals(Ns.Shell, StringComparison.OrdinalIgnoreCase))
        {
            lock (sync) items = shells.Values.Where(s => s.Owner == caller.User).OrderBy(s => s.Created).Select(s => ShellXml(s, full: true)).ToList();
        }
        else if (r.ResourceUri.Equals(Ns.Shell + "/Command", StringComparison.OrdinalIgnoreCase))
        {
            string? id = enumerate.Element(XName.Get("Filter", Ns.Wsman))?.Descendants(XName.Get("Selector", Ns.Wsman)).FirstOrDefault(s => (string?)s.Attribute("Name") == "ShellId")?.Value.Trim();
            Shell? shell = null;
            lock (sync) if (id is not null && shells.TryGetValue(id, out Shell? s) && s.Owner == caller.User) shell = s;
            if (shell is null) throw FaultException.NoShell();
            lock (shell.Lock) items = shell.Commands.Values.Select(c => $"<rsp:Command xmlns:rsp=\"{Ns.Shell}\"><rsp:CommandId>{c.Id}</rsp:CommandId></rsp:Command>").ToList();
        }
        else
        {
            throw new FaultException("s:Sender", "w:DestinationUnreachable", 0x80338012, $"The WS-Management service cannot process the request. The resource URI ({r.ResourceUri}) was not found in the WS-Management catalog. ");
        }
        var queue = new Queue<string>(items);
        string context = "";
        var now = new StringBuilder();
        if (optimize)
            for (int i = 0; i < max && queue.Count > 0; i++) now.Append(queue.Dequeue());
        if (queue.Count > 0)
        {
            context = "uuid:" + NewId();
            lock (sync) enumerations[context] = queue;
        }
        string body = $"<n:EnumerateResponse><n:EnumerationContext>{context}</n:EnumerationContext>"
            + (optimize && now.Length > 0 ? $"<w:Items>{now}</w:Items>" : "")
            + (optimize && queue.Count == 0 ? "<w:EndOfSequence/>" : "") + "</n:EnumerateResponse>";
        return Reply.Envelope(r, "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse", body, "n w p");
    }

    string Pull(SoapRequest r)
    {
        XElement pull = r.Body.Element(XName.Get("Pull", Ns.Enumeration)) ?? new XElement("x");
        string context = pull.Element(XName.Get("EnumerationContext", Ns.Enumeration))?.Value.Trim() ?? "";
        int max = int.TryParse(pull.Element(XName.Get("MaxElements", Ns.Enumeration))?.Value, out int m) ? m : 1;
        Queue<string>? queue;
        lock (sync) enumerations.TryGetValue(context, out queue);
        if (queue is null) throw new FaultException("s:Sender", "n:InvalidEnumerationContext", 0x8033801B, "The WS-Management service cannot process the request because the enumeration context is not valid. ");
        var now = new StringBuilder();
        for (int i = 0; i < max && queue.Count > 0; i++) now.Append(queue.Dequeue());
        bool end = queue.Count == 0;
        if (end) lock (sync) enumerations.Remove(context);
        string body = "<n:PullResponse>" + (end ? "" : $"<n:EnumerationContext>{context}</n:EnumerationContext>") + $"<n:Items>{now}</n:Items>" + (end ? "<n:EndOfSequence/>" : "") + "</n:PullResponse>";
        return Reply.Envelope(r, "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse", body, "n w p");
    }

    // ---- Command / Send / Receive / Signal ----

    static void Connected(Shell shell)
    {
        if (shell.State == "Disconnected") throw Disconnected();
        if (shell.State == "Closed") throw FaultException.NoShell();
    }

    Command FindCommand(Shell shell, string? id)
    {
        lock (shell.Lock)
        {
            if (id is not null && shell.Commands.TryGetValue(id, out Command? c)) return c;
        }
        throw FaultException.NoShell();
    }

    async Task<string> CommandAsync(SoapRequest r, Caller caller)
    {
        Shell shell = Touch(Find(r, caller));
        Connected(shell);
        XElement line = r.Body.Element(XName.Get("CommandLine", Ns.Shell)) ?? throw new FaultException("s:Sender", "w:SchemaValidationError", 0x80338043, "The SOAP XML in the message does not match the corresponding XML schema definition. ");
        string id = (string?)line.Attribute("CommandId") is { Length: > 0 } chosen ? chosen.ToUpperInvariant() : NewId();
        string commandLine = line.Element(XName.Get("Command", Ns.Shell))?.Value ?? "";
        List<string> arguments = line.Elements(XName.Get("Arguments", Ns.Shell)).Select(a => a.Value.Trim()).ToList();
        var op = Plugin.NewRequest("Command", caller, shell.ResourceUri, r.Options);
        Plugin.Command(op, shell.Context, commandLine, arguments);
        Task first = await Task.WhenAny(op.Context.Task, op.Completed.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != op.Context.Task)
        {
            var (code, info) = op.Completed.Task.IsCompleted ? op.Completed.Task.Result : (unchecked((int)0x80338029), "the plugin did not report the command's context");
            throw PluginFault(Configuration(shell.ResourceUri), code, info);
        }
        var command = new Command { Id = id, Create = op, Context = op.Context.Task.Result };
        var receive = Plugin.NewRequest("Receive", caller, shell.ResourceUri, []);
        receive.Received = (flags, stream, data, state, exit) =>
        {
            if (data is { Length: > 0 }) shell.Append(id, data, state == Ns.Shell + "/CommandState/Pending");
            if ((flags & 1) != 0 || state == Ns.Shell + "/CommandState/Done")
            {
                lock (shell.Lock) { command.Done = true; command.ExitCode = exit; }
                shell.Notify();
            }
        };
        command.Receive = receive;
        _ = op.Completed.Task.ContinueWith(_ => { lock (shell.Lock) command.Done = true; shell.Notify(); }, TaskScheduler.Default);
        lock (shell.Lock) shell.Commands[id] = command;
        Plugin.Receive(receive, shell.Context, command.Context);
        Log.Event($"shell {shell.Id}: command {id} started");
        return Reply.Envelope(r, Actions.Shell + "CommandResponse", $"<rsp:CommandResponse><rsp:CommandId>{id}</rsp:CommandId></rsp:CommandResponse>");
    }

    async Task<string> SendAsync(SoapRequest r, Caller caller)
    {
        Shell shell = Touch(Find(r, caller));
        Connected(shell);
        foreach (XElement stream in r.Body.Element(XName.Get("Send", Ns.Shell))?.Elements(XName.Get("Stream", Ns.Shell)) ?? [])
        {
            string name = (string?)stream.Attribute("Name") ?? "stdin";
            string? commandId = (string?)stream.Attribute("CommandId");
            IntPtr commandContext = commandId is null ? IntPtr.Zero : FindCommand(shell, commandId).Context;
            byte[] data = Convert.FromBase64String(stream.Value.Trim());
            var op = Plugin.NewRequest("Send", caller, shell.ResourceUri, []);
            Plugin.Send(op, shell.Context, commandContext, name, data);
            var done = await Within(op.Completed.Task, r.OperationTimeout);
            if (done is null) throw FaultException.OperationTimeout();
            Plugin.Release(op);
            if (done.Value.Code != 0) throw PluginFault(Configuration(shell.ResourceUri), done.Value.Code, done.Value.Info);
        }
        return Reply.Envelope(r, Actions.Shell + "SendResponse", "<rsp:SendResponse/>");
    }

    async Task<string> ReceiveAsync(SoapRequest r, Caller caller)
    {
        Shell shell = Touch(Find(r, caller));
        Connected(shell);
        XElement? desired = r.Body.Element(XName.Get("Receive", Ns.Shell))?.Element(XName.Get("DesiredStream", Ns.Shell));
        string? commandId = (string?)desired?.Attribute("CommandId");
        Command? command = commandId is null ? null : FindCommand(shell, commandId);
        string key = command?.Id ?? "";
        DateTime deadline = DateTime.UtcNow + r.OperationTimeout;
        // Room for the streams: what the client's envelope allows, less the envelope around them.
        // (the service's MaxEnvelopeSizekb caps the client's MaxEnvelopeSize, MS-WSMV 3.1.4.1.7).
        int budget = Math.Max(4096, Math.Min(r.MaxEnvelopeSize, options.MaxEnvelopeKb * 1024) - 2048);
        while (true)
        {
            Task changed = shell.Changed;
            var streams = new StringBuilder();
            bool done = false, waiting = false;
            int exit = 0;
            lock (shell.Lock)
            {
                if (shell.Output.TryGetValue(key, out List<(byte[] Data, bool Pending)>? pending))
                {
                    int used = 0, taken = 0;
                    foreach ((byte[] chunk, bool isPending) in pending)
                    {
                        int size = (chunk.Length + 2) / 3 * 4 + 100;
                        if (taken > 0 && used + size > budget) break;
                        used += size;
                        taken++;
                        waiting |= isPending;
                        streams.Append($"<rsp:Stream Name=\"stdout\"{(command is null ? "" : $" CommandId=\"{command.Id}\"")}>{Convert.ToBase64String(chunk)}</rsp:Stream>");
                    }
                    pending.RemoveRange(0, taken);
                    if (pending.Count > 0) { /* the rest goes with the next Receive */ }
                    else if (command is not null && command.Done) { done = true; exit = command.ExitCode; }
                }
                else if (command is not null && command.Done)
                {
                    done = true;
                    exit = command.ExitCode;
                }
            }
            if (streams.Length > 0 || done)
            {
                string state = command is null ? ""
                    : done ? $"<rsp:CommandState CommandId=\"{command.Id}\" State=\"{Ns.Shell}/CommandState/Done\"><rsp:ExitCode>{exit}</rsp:ExitCode></rsp:CommandState>"
                    : waiting ? $"<rsp:CommandState CommandId=\"{command.Id}\" State=\"{Ns.Shell}/CommandState/Pending\"></rsp:CommandState>"
                    : "";
                return Reply.Envelope(r, Actions.Shell + "ReceiveResponse", $"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>", "w rsp p");
            }
            if (shell.State == "Disconnected") throw Disconnected();
            if (shell.State == "Closed") throw FaultException.NoShell();
            if (shell.Ended is { } ended && command is null)
                throw PluginFault(Configuration(shell.ResourceUri), ended.Code, ended.Info);
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw FaultException.OperationTimeout();
            await Task.WhenAny(changed, Task.Delay(left));
            shell.LastActivity = DateTime.UtcNow;
        }
    }

    async Task<string> SignalAsync(SoapRequest r, Caller caller)
    {
        Shell shell = Touch(Find(r, caller));
        Connected(shell);
        XElement signal = r.Body.Element(XName.Get("Signal", Ns.Shell)) ?? new XElement("x");
        string code = signal.Element(XName.Get("Code", Ns.Shell))?.Value.Trim() ?? "";
        string? commandId = (string?)signal.Attribute("CommandId");
        Command? command = commandId is null ? null : FindCommand(shell, commandId);
        if (command is not null && code == Ns.Shell + "/signal/terminate")
        {
            // WinRM ends the command itself (its shutdown notification to the plugin) and forgets it.
            if (!command.Done || !command.Create.Completed.Task.IsCompleted)
            {
                Plugin.CloseCommand(shell.Session!, shell.Context, command.Context);
                await Within(command.Create.Completed.Task, TimeSpan.FromSeconds(10));
            }
            lock (shell.Lock)
            {
                shell.Commands.Remove(command.Id);
                shell.Output.Remove(command.Id);
            }
            Log.Event($"shell {shell.Id}: command {command.Id} terminated");
        }
        else
        {
            var op = Plugin.NewRequest("Signal", caller, shell.ResourceUri, []);
            Plugin.Signal(op, shell.Context, command?.Context ?? IntPtr.Zero, code);
            var done = await Within(op.Completed.Task, r.OperationTimeout);
            if (done is null) throw FaultException.OperationTimeout();
            Plugin.Release(op);
            if (done.Value.Code != 0) throw PluginFault(Configuration(shell.ResourceUri), done.Value.Code, done.Value.Info);
            Log.Event($"shell {shell.Id}: signal {code} to {command?.Id ?? "the shell"}");
        }
        return Reply.Envelope(r, Actions.Shell + "SignalResponse", "<rsp:SignalResponse/>", "x w rsp p", activity: false);
    }

    // ---- Disconnect / Reconnect / Connect ----

    string Disconnect(SoapRequest r, Caller caller)
    {
        Shell shell = Touch(Find(r, caller));
        if (shell.State != "Connected")
            throw new FaultException("s:Receiver", "w:InternalError", 0x803381CF, "The Disconnect operation is not valid on a shell that is not connected. ", provider: "Shell provider", providerPath: "%systemroot%\\system32\\WsmSvc.dll", nested: true);
        string? idle = r.Body.Element(XName.Get("Disconnect", Ns.Shell))?.Element(XName.Get("IdleTimeOut", Ns.Shell))?.Value.Trim();
        if (idle is { Length: > 0 }) shell.IdleTimeout = Idle(XmlConvert.ToTimeSpan(idle));
        shell.State = "Disconnected";
        shell.Notify();
        Log.Event($"shell {shell.Id}: disconnected, kept for {shell.IdleTimeout.TotalMilliseconds} ms");
        return Reply.Envelope(r, Actions.Shell + "DisconnectResponse", "", "w p");
    }

    string Reconnect(SoapRequest r, Caller caller)
    {
        Shell shell = Touch(Find(r, caller));
        if (shell.State != "Disconnected")
            throw new FaultException("s:Receiver", "w:InternalError", 0x803381D0, "The Reconnect operation is not valid on a shell that is not disconnected. ", provider: "Shell provider", providerPath: "%systemroot%\\system32\\WsmSvc.dll", nested: true);
        if (shell.SessionId is not null && r.SessionId is not null && !string.Equals(shell.SessionId, r.SessionId, StringComparison.OrdinalIgnoreCase))
            throw new FaultException("s:Receiver", "w:InternalError", 0x803381C6, "The Reconnect request comes from another client session than the one that disconnected the shell: a new client connects (Connect). ", provider: "Shell provider", providerPath: "%systemroot%\\system32\\WsmSvc.dll", nested: true);
        shell.State = "Connected";
        Log.Event($"shell {shell.Id}: reconnected ({shell.Buffered} output chunks waiting)");
        return Reply.Envelope(r, Actions.Shell + "ReconnectResponse", "", "w p");
    }

    async Task<string> ConnectAsync(SoapRequest r, Caller caller)
    {
        Shell shell = Touch(Find(r, caller));
        XElement connect = r.Body.Element(XName.Get("Connect", Ns.Shell)) ?? new XElement("x");
        string? commandId = (string?)connect.Attribute("CommandId");
        Command? command = commandId is null ? null : FindCommand(shell, commandId);
        if (command is null && shell.State != "Disconnected")
            throw new FaultException("s:Receiver", "w:InternalError", 0x803381CD, "The shell is connected to a different client. ", provider: "Shell provider", providerPath: "%systemroot%\\system32\\WsmSvc.dll", nested: true);
        string? xml = connect.Element(XName.Get("connectXml", Ns.PowerShell))?.Value.Trim();
        var op = Plugin.NewRequest("Connect", caller, shell.ResourceUri, r.Options);
        Plugin.Connect(op, shell.Context, command?.Context ?? IntPtr.Zero, $"<connectXml xmlns=\"{Ns.PowerShell}\">{xml}</connectXml>");
        var done = await Within(op.Completed.Task, r.OperationTimeout);
        if (done is null) throw FaultException.OperationTimeout();
        Plugin.Release(op);
        if (done.Value.Code != 0) throw PluginFault(Configuration(shell.ResourceUri), done.Value.Code, done.Value.Info);
        if (command is null)
        {
            shell.State = "Connected";
            shell.SessionId = r.SessionId;
        }
        Log.Event($"shell {shell.Id}: connected by a new client{(command is null ? "" : $" (command {command.Id})")}, {shell.Buffered} output chunks waiting");
        string response = done.Value.Info is { Length: > 0 } info ? info : "";
        return Reply.Envelope(r, Actions.Shell + "ConnectResponse",
            $"<rsp:ConnectResponse><rsp:InputStreams>{shell.InputStreams}</rsp:InputStreams><rsp:OutputStreams>{shell.OutputStreams}</rsp:OutputStreams>{response}</rsp:ConnectResponse>");
    }

    // ---- idle timeout ----

    /// <summary>Deletes disconnected shells whose idle timeout passed (their output is lost, as on Windows).</summary>
    public async Task ReapAsync()
    {
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(options.MinIdleMs / 4, 100, 5000)));
            List<Shell> expired;
            DateTime now = DateTime.UtcNow;
            lock (sync)
            {
                expired = shells.Values.Where(s => s.State == "Disconnected" && now - s.LastActivity > s.IdleTimeout).ToList();
                foreach (Shell s in expired) shells.Remove(s.Id);
            }
            foreach (Shell s in expired)
                await CloseAsync(s, $"idle timeout: disconnected for more than {s.IdleTimeout.TotalMilliseconds} ms");
        }
    }

    /// <summary>Closes every shell (the endpoint stops).</summary>
    public void CloseAll()
    {
        List<Shell> all;
        lock (sync) { all = [.. shells.Values]; shells.Clear(); }
        foreach (Shell s in all) s.Shutdown?.Set();
    }
}
