using System.Collections.Concurrent;
using System.Management.Automation.Runspaces;
using RemoteSessions.Native;

namespace RemoteSessions;

/// <summary>
/// The CIM sessions of one runspace (spec/cmdlet-behaviour.md §1.2): a native owner scope, so Ids start
/// at 1 in every runspace, and the session objects already handed out, so a lookup returns the same
/// object again. Dropped, with all its sessions, when the runspace closes or breaks, or the module is
/// removed.
/// </summary>
internal sealed class RunspaceSessions : IDisposable
{
    private static readonly ConcurrentDictionary<Guid, RunspaceSessions> ByRunspace = new();
    private readonly ConcurrentDictionary<Guid, CimSession> _objects = new();

    private RunspaceSessions() => Scope = new SessionScope();

    internal SessionScope Scope { get; }

    /// <summary>A scope for temporary sessions (-ComputerName on a CIM cmdlet), so they use no runspace Ids.</summary>
    internal static SessionScope Temporary { get; } = new();

    /// <summary>The state of the runspace running the current pipeline, made on first use.</summary>
    internal static RunspaceSessions Current
    {
        get
        {
            Runspace? runspace = Runspace.DefaultRunspace;
            Guid key = runspace?.InstanceId ?? Guid.Empty;
            return ByRunspace.GetOrAdd(key, _ =>
            {
                if (runspace is not null) runspace.StateChanged += OnRunspaceStateChanged;
                return new RunspaceSessions();
            });
        }
    }

    /// <summary>The cached object for a native session, or a new one for a session seen the first time.</summary>
    internal CimSession Wrap(NativeCimSession native)
    {
        CimSession cached = _objects.GetOrAdd(native.InstanceId, _ => new CimSession(native));
        if (!ReferenceEquals(cached.Native, native)) native.Dispose();
        return cached;
    }

    /// <summary>Drops a removed session from the cache. Its handle stays open (freed with the object) so
    /// the object can still be read and later uses fail with Windows-like errors, not ObjectDisposed.</summary>
    internal void Forget(CimSession session) => _objects.TryRemove(session.InstanceId, out _);

    /// <summary>Frees the sessions of the current runspace (module removal there).</summary>
    internal static void DisposeCurrent()
    {
        Runspace? runspace = Runspace.DefaultRunspace;
        if (runspace is not null) runspace.StateChanged -= OnRunspaceStateChanged;
        if (ByRunspace.TryRemove(runspace?.InstanceId ?? Guid.Empty, out RunspaceSessions? state)) state.Dispose();
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is not Runspace runspace) return;
        if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken)
        {
            runspace.StateChanged -= OnRunspaceStateChanged;
            if (ByRunspace.TryRemove(runspace.InstanceId, out RunspaceSessions? state)) state.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (CimSession s in _objects.Values) s.Native.Dispose();
        _objects.Clear();
        Scope.Dispose();
    }
}

/// <summary>Frees native state when the module is removed (Remove-Module), so it can be imported again,
/// and puts PowerShell's type accelerators back.</summary>
public sealed class ModuleCleanup : System.Management.Automation.IModuleAssemblyCleanup
{
    public void OnRemove(System.Management.Automation.PSModuleInfo psModuleInfo)
    {
        RunspaceSessions.DisposeCurrent();
        TypeAccelerators.Uninstall();
    }
}
