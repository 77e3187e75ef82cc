using System.Management.Automation;
using System.Reflection;

namespace RemoteSessions;

/// <summary>
/// PowerShell's type accelerators <c>[CimInstance]</c>, <c>[CimClass]</c>, <c>[CimSession]</c> and
/// <c>[CimType]</c> name Microsoft.Management.Infrastructure's types, which cannot be made on Linux or
/// macOS (their native library, MI, does not exist there). While the module is imported they name this
/// module's types instead, so scripts written on Windows that type parameters or casts with them
/// (<c>param([CimInstance[]] $InputObject)</c>, <c>$x -is [CimInstance]</c>) take the module's objects;
/// the last Remove-Module in the process puts PowerShell's back. PowerShell reads its own accelerators
/// before users' ones, so they are changed in its internal table
/// (<c>System.Management.Automation.TypeAccelerators.builtinTypeAccelerators</c>, as in pwsh 7.6), and
/// its cache of resolved type names is cleared. These are engine internals: tests/pester/
/// WindowsFidelity.Tests.ps1 fails if an update moves them (the module then works on without the
/// accelerators).
/// </summary>
internal static class TypeAccelerators
{
    private static readonly (string Name, Type Ours)[] Names =
    [
        ("CimInstance", typeof(CimInstance)),
        ("CimClass", typeof(CimClass)),
        ("CimSession", typeof(CimSession)),
        ("CimType", typeof(RemoteSessions.Native.CimType)),
    ];

    private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Static;
    private static readonly Type? Table = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");

    /// <summary>PowerShell's own accelerators (the table its type resolution reads before the users'), or
    /// null when this PowerShell has no such table.</summary>
    private static Dictionary<string, Type>? Builtin => Table?.GetField("builtinTypeAccelerators", Private)?.GetValue(null) as Dictionary<string, Type>;

    private static readonly Dictionary<string, Type> Replaced = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>How many imports (one per runspace) are live: PowerShell's accelerators come back with the last removal.</summary>
    private static int s_imports;

    /// <summary>Forgets the merged table that <c>[psobject].Assembly.GetType('…TypeAccelerators')::Get</c>
    /// shows and the types the engine resolved so far (its cache,
    /// <c>System.Management.Automation.Language.TypeCache.s_cache</c>), so both are made again from the
    /// changed table.</summary>
    private static void Refresh()
    {
        Table?.GetField("s_allTypeAccelerators", Private)?.SetValue(null, null);
        object? cache = typeof(PSObject).Assembly.GetType("System.Management.Automation.Language.TypeCache")?.GetField("s_cache", Private)?.GetValue(null);
        cache?.GetType().GetMethod("Clear", Type.EmptyTypes)?.Invoke(cache, null);
    }

    /// <summary>Points the accelerators at the module's types, remembering PowerShell's.</summary>
    internal static void Install()
    {
        Dictionary<string, Type>? builtin = Builtin;
        if (builtin is null) return;
        lock (Replaced)
        {
            s_imports++;
            foreach ((string name, Type ours) in Names)
            {
                if (builtin.TryGetValue(name, out Type? theirs) && theirs != ours) Replaced.TryAdd(name, theirs);
                builtin[name] = ours;
            }
            Refresh();
        }
    }

    /// <summary>Puts PowerShell's accelerators back when no runspace has the module any more.</summary>
    internal static void Uninstall()
    {
        Dictionary<string, Type>? builtin = Builtin;
        if (builtin is null) return;
        lock (Replaced)
        {
            if (s_imports > 0 && --s_imports > 0) return;
            foreach ((string name, Type theirs) in Replaced) builtin[name] = theirs;
            Replaced.Clear();
            Refresh();
        }
    }
}

/// <summary>Runs when the module is imported: the type accelerators (<see cref="TypeAccelerators"/>).</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    /// <summary>Called by PowerShell on Import-Module.</summary>
    public void OnImport() => TypeAccelerators.Install();
}
