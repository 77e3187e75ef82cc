// The engine side: PowerShell's WS-Man plugin (System.Management.Automation.Remoting.
// WSManPluginManagedEntryWrapper) driven as WinRM drives pwrshplugin.dll on Windows. Requests are built
// in unmanaged memory in the layouts of wsman.h (x64); the plugin's calls back into WinRM
// (WSManPluginReportContext, WSManPluginOperationComplete, WSManPluginReceiveResult, …) arrive through
// libpsrpomiprov.so (shim.c) at the [UnmanagedCallersOnly] methods below and are routed to the
// operation whose request pointer they name.
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace RemoteSessions.WsmanEndpoint;

/// <summary>One plugin operation (a WSMAN_PLUGIN_REQUEST): what the plugin reported on it.</summary>
sealed class Operation
{
    public IntPtr Request;
    public readonly string Kind;
    /// <summary>WSManPluginReportContext: the shell or command context.</summary>
    public readonly TaskCompletionSource<IntPtr> Context = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>WSManPluginOperationComplete: the error code and extended information.</summary>
    public readonly TaskCompletionSource<(int Code, string? Info)> Completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>WSManPluginReceiveResult: flags, stream, data, command state, exit code.</summary>
    public Action<int, string?, byte[]?, string?, int>? Received;
    /// <summary>Unmanaged blocks to free with the operation.</summary>
    public readonly List<IntPtr> Blocks = [];

    public Operation(string kind) { Kind = kind; }
}

static unsafe class Plugin
{
    const string EngineNs = "System.Management.Automation.Remoting";
    static readonly Assembly Sma = typeof(System.Management.Automation.PSObject).Assembly;
    const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance;
    static readonly ConcurrentDictionary<IntPtr, Operation> operations = new();
    static IntPtr shim;
    static IntPtr localeText;
    /// <summary>The plugin context WinRM would get from WSManPluginStartup: any non-null pointer.</summary>
    public static readonly IntPtr PluginContext = Marshal.AllocHGlobal(16);
    static readonly Type Wrapper = Type("WSManPluginManagedEntryWrapper");
    static readonly Type Instance = Type("WSManPluginInstance");

    static Type Type(string name, string ns = EngineNs) =>
        Sma.GetType($"{ns}.{name}", throwOnError: true)!;

    /// <summary>Loads the shim and points the engine's imports of libpsrpomiprov at it.</summary>
    public static void Initialize(string shimPath)
    {
        shim = NativeLibrary.Load(shimPath);
        string how;
        try
        {
            NativeLibrary.SetDllImportResolver(Sma, (name, _, _) => name.Contains("psrpomiprov", StringComparison.Ordinal) ? shim : IntPtr.Zero);
            how = "DllImportResolver";
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set on the engine's assembly: the default load context's fallback
            // still sees names the probing does not find (libpsrpomiprov is not beside pwsh).
            System.Runtime.Loader.AssemblyLoadContext.Default.ResolvingUnmanagedDll += (asm, name) => name.Contains("psrpomiprov", StringComparison.Ordinal) ? shim : IntPtr.Zero;
            how = "ResolvingUnmanagedDll";
        }
        var init = (delegate* unmanaged<delegate* unmanaged<IntPtr, int, IntPtr, int>, delegate* unmanaged<IntPtr, int, int, char*, int>,
            delegate* unmanaged<IntPtr, int, char*, IntPtr, char*, int, int>, delegate* unmanaged<IntPtr, int, IntPtr, int>,
            delegate* unmanaged<IntPtr, IntPtr, IntPtr, int>, void>)NativeLibrary.GetExport(shim, "rsess_shim_init");
        init(&GetOperationParameters, &OperationComplete, &ReceiveResult, &ReportContext, &RegisterShutdownCallback);
        localeText = Marshal.StringToHGlobalUni("en-US");
        Log.Event($"engine: PowerShell {System.Management.Automation.PSVersionInfo.PSVersion}, libpsrpomiprov from {shimPath} by {how}");
    }

    // ---- callbacks (WinRM's side of the plugin API) ----

    [UnmanagedCallersOnly]
    static int GetOperationParameters(IntPtr request, int flags, IntPtr data)
    {
        // 5: the requested locale, 6: the data locale; both answered as text.
        if (data == IntPtr.Zero) return 87;
        Marshal.WriteInt32(data, 0, 1);
        Marshal.WriteInt32(data, 8, 5);
        Marshal.WriteIntPtr(data, 16, localeText);
        return 0;
    }

    [UnmanagedCallersOnly]
    static int OperationComplete(IntPtr request, int flags, int error, char* info)
    {
        string? text = info == null ? null : new string(info);
        if (operations.TryGetValue(request, out Operation? op))
        {
            if (error != 0) Log.Event($"plugin: {op.Kind} completed with 0x{error:X8}{(text is null ? "" : $" {OneLine(text)}")}");
            op.Completed.TrySetResult((error, text));
        }
        else
        {
            Log.Event($"plugin: OperationComplete on an unknown request 0x{error:X8}");
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    static int ReceiveResult(IntPtr request, int flags, char* stream, IntPtr data, char* state, int exitCode)
    {
        byte[]? bytes = null;
        if (data != IntPtr.Zero)
        {
            int type = Marshal.ReadInt32(data, 0);
            int length = Marshal.ReadInt32(data, 8);
            IntPtr buffer = Marshal.ReadIntPtr(data, 16);
            if (type == 2 && length > 0 && buffer != IntPtr.Zero)
            {
                bytes = new byte[length];
                Marshal.Copy(buffer, bytes, 0, length);
            }
        }
        if (operations.TryGetValue(request, out Operation? op))
        {
            try { op.Received?.Invoke(flags, stream == null ? null : new string(stream), bytes, state == null ? null : new string(state), exitCode); }
            catch (Exception e) { Log.Event($"plugin: receive handler failed: {e.Message}"); }
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    static int ReportContext(IntPtr request, int flags, IntPtr context)
    {
        if (operations.TryGetValue(request, out Operation? op)) op.Context.TrySetResult(context);
        return 0;
    }

    [UnmanagedCallersOnly]
    static int RegisterShutdownCallback(IntPtr request, IntPtr callback, IntPtr context) => 0;

    static string OneLine(string s) => s.ReplaceLineEndings(" ");

    // ---- unmanaged requests (wsman.h layouts, x64) ----

    static IntPtr Alloc(Operation op, int size)
    {
        IntPtr p = Marshal.AllocHGlobal(size);
        new Span<byte>((void*)p, size).Clear();
        op.Blocks.Add(p);
        return p;
    }

    static IntPtr Text(Operation op, string? s)
    {
        if (s is null) return IntPtr.Zero;
        IntPtr p = Marshal.StringToHGlobalUni(s);
        op.Blocks.Add(p);
        return p;
    }

    /// <summary>WSMAN_STREAM_ID_SET / WSMAN_COMMAND_ARG_SET: {DWORD count; PCWSTR* ids}.</summary>
    static IntPtr StringSet(Operation op, IReadOnlyList<string> items)
    {
        IntPtr set = Alloc(op, 16);
        IntPtr array = Alloc(op, Math.Max(8, 8 * items.Count));
        for (int i = 0; i < items.Count; i++) Marshal.WriteIntPtr(array, 8 * i, Text(op, items[i]));
        Marshal.WriteInt32(set, 0, items.Count);
        Marshal.WriteIntPtr(set, 8, array);
        return set;
    }

    /// <summary>WSMAN_DATA of type text (1) or binary (2).</summary>
    static IntPtr Data(Operation op, string? text, byte[]? binary)
    {
        IntPtr data = Alloc(op, 24);
        if (text is not null)
        {
            Marshal.WriteInt32(data, 0, 1);
            Marshal.WriteInt32(data, 8, text.Length);
            Marshal.WriteIntPtr(data, 16, Text(op, text));
        }
        else
        {
            byte[] bytes = binary ?? [];
            IntPtr buffer = Alloc(op, Math.Max(1, bytes.Length));
            Marshal.Copy(bytes, 0, buffer, bytes.Length);
            Marshal.WriteInt32(data, 0, 2);
            Marshal.WriteInt32(data, 8, bytes.Length);
            Marshal.WriteIntPtr(data, 16, buffer);
        }
        return data;
    }

    /// <summary>A WSMAN_PLUGIN_REQUEST with its sender details and operation info (the options of the request).</summary>
    public static Operation NewRequest(string kind, Caller caller, string resourceUri, IReadOnlyList<(string Name, string Value, bool MustComply)> options)
    {
        var op = new Operation(kind);
        IntPtr sender = Alloc(op, 40);
        Marshal.WriteIntPtr(sender, 0, Text(op, caller.User));
        Marshal.WriteIntPtr(sender, 8, Text(op, "Basic"));
        Marshal.WriteIntPtr(sender, 32, Text(op, caller.Url));
        IntPtr info = Alloc(op, 72);
        IntPtr optionArray = Alloc(op, Math.Max(24, 24 * options.Count));
        for (int i = 0; i < options.Count; i++)
        {
            Marshal.WriteIntPtr(optionArray, 24 * i, Text(op, options[i].Name));
            Marshal.WriteIntPtr(optionArray, 24 * i + 8, Text(op, options[i].Value));
            Marshal.WriteInt32(optionArray, 24 * i + 16, options[i].MustComply ? 1 : 0);
        }
        Marshal.WriteInt32(info, 48, options.Count);
        Marshal.WriteIntPtr(info, 56, optionArray);
        IntPtr request = Alloc(op, 48);
        Marshal.WriteIntPtr(request, 0, sender);
        Marshal.WriteIntPtr(request, 8, Text(op, caller.Locale));
        Marshal.WriteIntPtr(request, 16, Text(op, resourceUri));
        Marshal.WriteIntPtr(request, 24, info);
        op.Request = request;
        operations[request] = op;
        return op;
    }

    /// <summary>Forgets a finished operation and frees its memory (never a shell's or command's: they are contexts).</summary>
    public static void Release(Operation op)
    {
        operations.TryRemove(op.Request, out _);
        foreach (IntPtr p in op.Blocks) Marshal.FreeHGlobal(p);
        op.Blocks.Clear();
    }

    /// <summary>Runs an entry point on a thread of its own (the plugin blocks until output can flow).</summary>
    static void OnThread(string name, Action action)
    {
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { Log.Event($"plugin: {name} threw {e.GetType().Name}: {(e.InnerException ?? e).Message}"); }
        }) { IsBackground = true, Name = name };
        thread.Start();
    }

    static object? Call(Type type, string method, object? target, params object?[] args)
    {
        MethodInfo m = type.GetMethods(Any).First(x => x.Name == method && x.GetParameters().Length == args.Length);
        try { return m.Invoke(target, args); }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    static object? Field(object target, string name) =>
        target.GetType().GetField(name, Any)?.GetValue(target) ?? FieldUp(target.GetType().BaseType, target, name);

    static object? FieldUp(Type? type, object target, string name)
    {
        for (; type is not null; type = type.BaseType)
            if (type.GetField(name, Any | BindingFlags.DeclaredOnly) is { } f) return f.GetValue(target);
        return null;
    }

    static void SetField(object target, string name, object? value)
    {
        for (Type? type = target.GetType(); type is not null; type = type.BaseType)
            if (type.GetField(name, Any | BindingFlags.DeclaredOnly) is { } f) { f.SetValue(target, value); return; }
        throw new MissingFieldException(target.GetType().Name, name);
    }

    static object? pluginInstance;

    static readonly object PluginInstanceLock = new();

    // One plugin instance for the endpoint's life, made by the first Create. Two first Creates at once
    // must not each make one: the engine finds a shell through the instance registered for the plugin
    // context, so a shell added to the other would be "not valid" on its Receive.
    static object PluginInstance()
    {
        lock (PluginInstanceLock)
        {
            if (pluginInstance is not null) return pluginInstance;
            object instance = Activator.CreateInstance(Instance, nonPublic: true)!;
            Call(Instance, "AddToActivePlugins", null, PluginContext, instance);
            return pluginInstance = instance;
        }
    }

    /// <summary>
    /// Create: what WSManPluginInstance.CreateShell does, redone because on Linux it gives the server
    /// session no crypto helper (and ServerRemoteSession then throws). Returns the shell session and the
    /// event whose setting is WinRM's shutdown notification (the client deleted the shell).
    /// </summary>
    public static (object Session, EventWaitHandle Shutdown) CreateShell(Operation create, string extraInfo, IReadOnlyList<string> inputStreams, IReadOnlyList<string> outputStreams, uint idleTimeoutMs, string? name, string? creationXml)
    {
        Type api = Type("WSManNativeApi", EngineNs + ".Client");
        object instance = PluginInstance();
        object request = Call(api.GetNestedType("WSManPluginRequest", Any)!, "UnMarshal", null, create.Request)!;
        Call(Instance, "SetThreadProperties", null, request);
        if (!(bool)Call(Instance, "EnsureOptionsComply", instance, request)!)
        {
            // The plugin reported OperationComplete with its error already.
            throw new PluginRefusedException();
        }
        object senderInfo = Call(Instance, "GetPSSenderInfo", null, Field(request, "senderDetails"))!;
        object crypto = Activator.CreateInstance(Type("PSRemotingCryptoHelperServer", "System.Management.Automation.Internal"), nonPublic: true)!;
        Type transportType = Type("WSManPluginServerTransportManager");
        int fragmentSize = (int)Type("BaseTransportManager").GetField("DefaultFragmentSize", Any)!.GetValue(null)!;
        object transport = transportType.GetConstructors(Any).Single().Invoke([fragmentSize, crypto]);
        Type serverSession = Type("ServerRemoteSession");
        MethodInfo createSession = serverSession.GetMethod("CreateServerRemoteSession", Any)!;
        object?[] sessionArgs = new object?[createSession.GetParameters().Length];
        sessionArgs[0] = senderInfo;
        sessionArgs[1] = Field(request, "resourceUri");
        sessionArgs[2] = extraInfo;
        sessionArgs[3] = transport;
        object remote;
        try { remote = createSession.Invoke(null, sessionArgs) ?? throw new InvalidOperationException("CreateServerRemoteSession returned null"); }
        catch (TargetInvocationException e) when (e.InnerException is not null) { throw e.InnerException; }
        Type shutdownType = Type("WSManPluginOperationShutdownContext");
        object shutdownContext = shutdownType.GetConstructors(Any).Single().Invoke([PluginContext, create.Request, IntPtr.Zero, false]);
        Type shellType = Type("WSManPluginShellSession");
        object shell = shellType.GetConstructors(Any).Single().Invoke([request, transport, remote, shutdownContext]);
        Call(Instance, "AddToActiveShellSessions", instance, shell);
        EventInfo closed = shellType.GetEvent("SessionClosed", Any)!;
        Delegate handler = Delegate.CreateDelegate(closed.EventHandlerType!, instance, Instance.GetMethod("HandleShellSessionClosed", Any)!);
        closed.GetAddMethod(true)!.Invoke(shell, [handler]);
        create.Context.TrySetResult(create.Request);
        var shutdown = new EventWaitHandle(false, EventResetMode.AutoReset);
        lock (Field(shell, "shellSyncObject")!)
        {
            SetField(shell, "registeredShutdownNotification", 1);
            MethodInfo callback = Wrapper.GetMethod("PSPluginOperationShutdownCallback", Any)!;
            var waitCallback = (WaitOrTimerCallback)Delegate.CreateDelegate(typeof(WaitOrTimerCallback), callback);
            SetField(shell, "registeredShutDownWaitHandle", ThreadPool.RegisterWaitForSingleObject(shutdown, waitCallback, shutdownContext, -1, true));
        }
        if (creationXml is not null)
        {
            var bytes = (byte[])Call(Type("ServerOperationHelpers", EngineNs + ".Server"), "ExtractEncodedXmlElement", null, creationXml, "creationXml")!;
            // Processing the fragments answers the client: that blocks until a receive is pending.
            OnThread("creationXml", () => Call(shellType, "SendOneItemToSessionHelper", shell, bytes, "stdin"));
        }
        return (shell, shutdown);
    }

    /// <summary>The client's fragments of a Create (creationXml) inside a WSMAN_DATA, as the plugin takes them.</summary>
    public static string CreationXml(string base64) => $"<creationXml xmlns=\"http://schemas.microsoft.com/powershell\">{base64}</creationXml>";

    public static void Command(Operation op, IntPtr shellContext, string commandLine, IReadOnlyList<string> arguments)
    {
        IntPtr args = StringSet(op, arguments);
        OnThread("Command", () => Wrapper.GetMethod("WSManPluginCommand")!.Invoke(null, [PluginContext, op.Request, 0, shellContext, commandLine, args]));
    }

    public static void Send(Operation op, IntPtr shellContext, IntPtr commandContext, string stream, byte[] data)
    {
        IntPtr inbound = Data(op, null, data);
        OnThread("Send", () => Wrapper.GetMethod("WSManPluginSend")!.Invoke(null, [PluginContext, op.Request, 0, shellContext, commandContext, stream, inbound]));
    }

    /// <summary>Opens the plugin's output of a shell or command: every later ReceiveResult names this request.</summary>
    public static void Receive(Operation op, IntPtr shellContext, IntPtr commandContext)
    {
        IntPtr streams = StringSet(op, ["stdout"]);
        OnThread("Receive", () => Wrapper.GetMethod("WSManPluginReceive")!.Invoke(null, [PluginContext, op.Request, 0, shellContext, commandContext, streams]));
    }

    public static void Signal(Operation op, IntPtr shellContext, IntPtr commandContext, string code) =>
        OnThread("Signal", () => Wrapper.GetMethod("WSManPluginSignal")!.Invoke(null, [PluginContext, op.Request, 0, shellContext, commandContext, code]));

    public static void Connect(Operation op, IntPtr shellContext, IntPtr commandContext, string connectXml)
    {
        IntPtr inbound = Data(op, connectXml, null);
        OnThread("Connect", () => Wrapper.GetMethod("WSManPluginConnect")!.Invoke(null, [PluginContext, op.Request, 0, shellContext, commandContext, inbound]));
    }

    /// <summary>
    /// Ends a command as WinRM does when it signals the command's shutdown notification (the plugin
    /// registers none on Linux): the command session's close operation.
    /// </summary>
    public static void CloseCommand(object shell, IntPtr shellContext, IntPtr commandContext)
    {
        Type shutdownType = Type("WSManPluginOperationShutdownContext");
        object context = shutdownType.GetConstructors(Any).Single().Invoke([PluginContext, shellContext, commandContext, false]);
        OnThread("CloseCommand", () => Call(Type("WSManPluginShellSession"), "CloseCommandOperation", shell, context));
    }

    /// <summary>The shell's context and command contexts still known to the plugin.</summary>
    public static bool ShellAlive(IntPtr shellContext)
    {
        if (pluginInstance is null) return false;
        return Call(Instance, "GetFromActiveShellSessions", pluginInstance, shellContext) is not null;
    }
}

/// <summary>The plugin refused the operation and reported it with OperationComplete.</summary>
sealed class PluginRefusedException : Exception;

/// <summary>Who sent a request: the Basic user, the URL, the locale, the client's address.</summary>
sealed record Caller(string User, string Url, string Locale, string ClientIp);
