using System.Collections;
using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions;

/// <summary>Named items (qualifiers, property and method declarations) in declaration order; indexable
/// by (case-insensitive) name, as MMI's <c>CimReadOnlyKeyedCollection</c>.</summary>
public sealed class CimKeyedCollection<T> : IReadOnlyList<T> where T : class
{
    private readonly IReadOnlyList<T> _items;
    private readonly Func<T, string> _name;

    internal CimKeyedCollection(IReadOnlyList<T> items, Func<T, string> name)
    {
        _items = items;
        _name = name;
    }

    public T this[int index] => _items[index];
    public T? this[string name] => _items.FirstOrDefault(i => _name(i).Equals(name, StringComparison.OrdinalIgnoreCase));
    public int Count => _items.Count;
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A boolean qualifier of a declaration (MMI <c>CimQualifier</c> shape): Key, In, Out, Static, …
/// with the value true. Only the qualifiers of <see cref="CimQualifiers"/> are carried.</summary>
public sealed class CimQualifier
{
    internal CimQualifier(string name) => Name = name;

    /// <summary>The qualifier's DSP0004 name, e.g. <c>Key</c>.</summary>
    public string Name { get; }
    /// <summary>Always true: only the boolean qualifiers that are set are carried.</summary>
    public object Value => true;
    public CimType CimType => CimType.Boolean;
    public CimFlags Flags => CimFlags.None;

    public override string ToString() => Name;

    internal static CimKeyedCollection<CimQualifier> Of(CimQualifiers bits) =>
        new(Enum.GetValues<CimQualifiers>().Where(b => b != CimQualifiers.None && bits.HasFlag(b)).Select(b => new CimQualifier(b.ToString())).ToArray(), q => q.Name);
}

/// <summary>A declared property (MMI <c>CimPropertyDeclaration</c> shape).</summary>
public sealed class CimPropertyDeclaration
{
    internal CimPropertyDeclaration(CimPropertyDeclarationData d)
    {
        Name = d.Name;
        CimType = d.CimType;
        ReferenceClassName = d.ReferenceClassName;
        Qualifiers = CimQualifier.Of(d.Qualifiers);
        Flags = CimFlags.Property | FlagsOf(d.Qualifiers);
    }

    public string Name { get; }
    /// <summary>The declared CIM type (an array type for an array property).</summary>
    public CimType CimType { get; }
    /// <summary><see cref="CimFlags.Property"/> with Key, Required, ReadOnly as declared.</summary>
    public CimFlags Flags { get; }
    public CimKeyedCollection<CimQualifier> Qualifiers { get; }
    /// <summary>For a reference: the class it refers to, when declared.</summary>
    public string? ReferenceClassName { get; }
    /// <summary>The default value; declarations here carry none.</summary>
    public object? Value => null;

    public override string ToString() => Name;

    /// <summary>MMI flags from qualifier bits: Key, Required, In, Out, and ReadOnly for Read without Write.</summary>
    internal static CimFlags FlagsOf(CimQualifiers q) =>
        (q.HasFlag(CimQualifiers.Key) ? CimFlags.Key : 0)
        | (q.HasFlag(CimQualifiers.Required) ? CimFlags.Required : 0)
        | (q.HasFlag(CimQualifiers.In) ? CimFlags.In : 0)
        | (q.HasFlag(CimQualifiers.Out) ? CimFlags.Out : 0)
        | (q.HasFlag(CimQualifiers.Read) && !q.HasFlag(CimQualifiers.Write) ? CimFlags.ReadOnly : 0);
}

/// <summary>A declared method parameter (MMI <c>CimMethodParameterDeclaration</c> shape).</summary>
public sealed class CimMethodParameterDeclaration
{
    internal CimMethodParameterDeclaration(CimPropertyDeclarationData d)
    {
        Name = d.Name;
        CimType = d.CimType;
        ReferenceClassName = d.ReferenceClassName;
        Qualifiers = CimQualifier.Of(d.Qualifiers);
        IsIn = d.Qualifiers.HasFlag(CimQualifiers.In);
        IsOut = d.Qualifiers.HasFlag(CimQualifiers.Out);
    }

    public string Name { get; }
    public CimType CimType { get; }
    public CimKeyedCollection<CimQualifier> Qualifiers { get; }
    public string? ReferenceClassName { get; }
    internal bool IsIn { get; }
    internal bool IsOut { get; }

    public override string ToString() => Name;
}

/// <summary>A declared method (MMI <c>CimMethodDeclaration</c> shape).</summary>
public sealed class CimMethodDeclaration
{
    internal CimMethodDeclaration(CimMethodDeclarationData d)
    {
        Name = d.Name;
        ReturnType = d.ReturnType;
        Qualifiers = CimQualifier.Of(d.Qualifiers);
        Parameters = new(d.Parameters.Select(p => new CimMethodParameterDeclaration(p)).ToArray(), p => p.Name);
    }

    public string Name { get; }
    /// <summary>The type of the method's <c>ReturnValue</c>.</summary>
    public CimType ReturnType { get; }
    public CimKeyedCollection<CimMethodParameterDeclaration> Parameters { get; }
    public CimKeyedCollection<CimQualifier> Qualifiers { get; }

    public override string ToString() => Name;
}

/// <summary>
/// A CIM class (MMI <c>CimClass</c> shape): what Get-CimClass writes (the server's declaration), and what
/// an instance's <c>CimClass</c> shows (its class as far as the instance tells: its properties, no methods).
/// </summary>
public sealed class CimClass
{
    internal CimClass(CimClassData d, CimSession? session)
    {
        CimClassName = d.ClassName;
        CimSuperClassName = d.SuperclassName;
        CimSystemProperties = new CimSystemProperties(d.Namespace, d.ServerName, d.ClassName, null);
        CimClassProperties = new(d.Properties.Select(p => new CimPropertyDeclaration(p)).ToArray(), p => p.Name);
        CimClassMethods = new(d.Methods.Select(m => new CimMethodDeclaration(m)).ToArray(), m => m.Name);
        CimClassQualifiers = CimQualifier.Of(d.Qualifiers);
        Session = session;
    }

    /// <summary>The class of an instance, declared by the properties it carries.</summary>
    internal static CimClass OfInstance(CimInstance instance)
    {
        CimSystemProperties system = instance.CimSystemProperties;
        return new(new CimClassData(
            system.ClassName, instance.Superclasses.FirstOrDefault(), system.Namespace, system.ServerName, CimQualifiers.None,
            instance.CimInstanceProperties.Select(p => new CimPropertyDeclarationData(p.Name, p.CimType, (p.Flags & CimFlags.Key) != 0 ? CimQualifiers.Key : CimQualifiers.None, null)).ToArray(),
            []), null);
    }

    /// <summary>e.g. <c>Win32_Process</c>.</summary>
    public string CimClassName { get; }
    /// <summary>The direct superclass, or null for a root class.</summary>
    public string? CimSuperClassName { get; }
    public CimSystemProperties CimSystemProperties { get; }
    public CimKeyedCollection<CimPropertyDeclaration> CimClassProperties { get; }
    public CimKeyedCollection<CimMethodDeclaration> CimClassMethods { get; }
    public CimKeyedCollection<CimQualifier> CimClassQualifiers { get; }

    /// <summary>The session the declaration was read through (null for a temporary one or an instance's class).</summary>
    internal CimSession? Session { get; }

    /// <summary>Windows' form: <c>root/cimv2:Win32_Process</c>.</summary>
    public override string ToString() => $"{CimSystemProperties.Namespace}:{CimClassName}";

    private const string TypeName = "Microsoft.Management.Infrastructure.CimClass";

    /// <summary>The PSObject Get-CimClass writes: Windows' type names (<c>…CimClass#root/cimv2/Win32_Process</c>,
    /// <c>…CimClass</c>) and <c>PSComputerName</c>.</summary>
    internal PSObject ToPSObject(string computerName)
    {
        var obj = new PSObject(this);
        obj.Properties.Add(new PSNoteProperty("PSComputerName", computerName));
        obj.TypeNames.Clear();
        obj.TypeNames.Add($"{TypeName}#{CimSystemProperties.Namespace}/{CimClassName}");
        obj.TypeNames.Add(TypeName);
        obj.TypeNames.Add("System.Object");
        return obj;
    }
}
