using System.Collections;
using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions;

/// <summary>CIM element flags with MMI's names and values (the subset the core reports).</summary>
[Flags]
public enum CimFlags : long
{
    None = 0,
    Class = 0x1,
    Method = 0x2,
    Property = 0x4,
    Parameter = 0x8,
    Association = 0x10,
    Reference = 0x40,
    Key = 0x1000,
    In = 0x2000,
    Out = 0x4000,
    Required = 0x8000,
    Static = 0x10000,
    Abstract = 0x20000,
    ReadOnly = 0x200000,
    NullValue = 0x20000000,
}

/// <summary>One property of a <see cref="CimInstance"/> (MMI <c>CimProperty</c> shape).</summary>
public sealed class CimProperty
{
    internal CimProperty(CimPropertyData data)
    {
        Name = data.Name;
        Value = data.Value;
        CimType = data.CimType;
        Flags = CimFlags.Property | (data.IsKey ? CimFlags.Key : 0) | (data.Value is null ? CimFlags.NullValue : 0);
    }

    public string Name { get; }
    public object? Value { get; }
    public CimType CimType { get; }
    public CimFlags Flags { get; }
    public bool IsValueModified => false;

    public override string ToString() => Value is null ? $"{Name}" : $"{Name} = {Value}";
}

/// <summary>The properties of an instance in declaration order; indexable by (case-insensitive) name.</summary>
public sealed class CimPropertyCollection : IReadOnlyList<CimProperty>
{
    private readonly IReadOnlyList<CimProperty> _items;

    internal CimPropertyCollection(IReadOnlyList<CimProperty> items) => _items = items;

    public CimProperty this[int index] => _items[index];
    public CimProperty? this[string name] => _items.FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
    public int Count => _items.Count;
    public IEnumerator<CimProperty> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Where an instance lives (MMI <c>CimSystemProperties</c>).</summary>
public sealed class CimSystemProperties
{
    internal CimSystemProperties(string ns, string serverName, string className, string? path)
    {
        Namespace = ns;
        ServerName = serverName;
        ClassName = className;
        Path = path;
    }

    /// <summary>Namespace in slash form, e.g. <c>root/cimv2</c>.</summary>
    public string Namespace { get; }
    public string ServerName { get; }
    public string ClassName { get; }
    public string? Path { get; }
}

/// <summary>
/// A CIM instance (spec/cmdlet-behaviour.md §1.7 "CimInstance shape"). Cmdlets output it wrapped in a
/// PSObject whose type names are Windows' (<c>Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Process</c>, …)
/// and which carries one property per CIM property plus <c>PSComputerName</c>.
/// </summary>
public sealed class CimInstance
{
    /// <param name="data">What the library read.</param>
    /// <param name="session">The registered session it was read through (null: a temporary one, or none).</param>
    /// <param name="from">The library session it was read through, registered or temporary (null: made
    /// with -ClientOnly), for <see cref="GetCimSessionInstanceId"/> and <see cref="GetCimSessionComputerName"/>.</param>
    internal CimInstance(CimInstanceData data, CimSession? session, NativeCimSession? from = null)
    {
        Session = session;
        _sessionInstanceId = from?.InstanceId ?? session?.InstanceId ?? Guid.Empty;
        _sessionComputerName = from?.ComputerName ?? session?.ComputerName;
        Superclasses = data.Superclasses;
        CimInstanceProperties = new CimPropertyCollection(data.Properties.Select(p => new CimProperty(p)).ToArray());
        CimSystemProperties = new CimSystemProperties(data.Namespace, data.ServerName, data.ClassName, null);
    }

    private CimClass? _class;

    /// <summary>The instance's class as the instance shows it (its properties' names, types and keys),
    /// made when first asked for: most instances are never asked.</summary>
    public CimClass CimClass => _class ??= CimClass.OfInstance(this);
    public CimPropertyCollection CimInstanceProperties { get; }
    public CimSystemProperties CimSystemProperties { get; }

    /// <summary>The session that produced the instance (null for a temporary one).</summary>
    internal CimSession? Session { get; }

    private readonly Guid _sessionInstanceId;
    private readonly string? _sessionComputerName;

    /// <summary>
    /// The InstanceId of the CIM session this instance was read through, as Windows' instances answer it
    /// (scripts route follow-up calls with <c>Get-CimSession -InstanceId</c>); for an ad hoc
    /// -ComputerName call, the temporary session's; <see cref="Guid.Empty"/> for an instance made with
    /// <c>New-CimInstance -ClientOnly</c>.
    /// </summary>
    public Guid GetCimSessionInstanceId() => _sessionInstanceId;

    /// <summary>The computer name of the CIM session this instance was read through (as that session
    /// was given it); null for an instance made with <c>New-CimInstance -ClientOnly</c>.</summary>
    public string? GetCimSessionComputerName() => _sessionComputerName;
    internal IReadOnlyList<string> Superclasses { get; }

    /// <summary>Windows' form: <c>Win32_Process (Handle = "42")</c>; the class name alone without keys.</summary>
    public override string ToString()
    {
        var keys = CimInstanceProperties.Where(p => (p.Flags & CimFlags.Key) != 0 && p.Value is not null)
            .Select(p => $"{p.Name} = \"{p.Value}\"").ToArray();
        return keys.Length == 0 ? CimSystemProperties.ClassName : $"{CimSystemProperties.ClassName} ({string.Join(", ", keys)})";
    }

    private const string TypePrefix = "Microsoft.Management.Infrastructure.CimInstance";

    /// <summary>The PSObject the cmdlets write for this instance.</summary>
    /// <param name="computerName">Value of <c>PSComputerName</c>.</param>
    /// <param name="partial">True for -KeyOnly/-Property results (adds the <c>__PartialCIMInstance</c> type name first).</param>
    /// <param name="showComputerName">True for a non-default session: the formatter then adds a PSComputerName column.</param>
    internal PSObject ToPSObject(string computerName, bool partial, bool showComputerName)
    {
        var obj = new PSObject(this);
        foreach (CimProperty p in CimInstanceProperties)
            obj.Properties.Add(new PSNoteProperty(p.Name, p.Value));
        obj.Properties.Add(new PSNoteProperty("PSComputerName", computerName));
        if (showComputerName) obj.Properties.Add(new PSNoteProperty("PSShowComputerName", true));

        string ns = CimSystemProperties.Namespace.Replace('\\', '/');
        string[] classes = [CimSystemProperties.ClassName, .. Superclasses];
        obj.TypeNames.Clear();
        if (partial) obj.TypeNames.Add(TypePrefix + "#__PartialCIMInstance");
        foreach (string c in classes) obj.TypeNames.Add($"{TypePrefix}#{ns}/{c}");
        foreach (string c in classes) obj.TypeNames.Add($"{TypePrefix}#{c}");
        obj.TypeNames.Add(TypePrefix);
        obj.TypeNames.Add("System.Object");
        return obj;
    }
}
