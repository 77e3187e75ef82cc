using System.Globalization;

namespace RemoteSessions.Native;

/// <summary>One property of a <see cref="CimInstanceData"/>.</summary>
/// <param name="Name">The property's name.</param>
/// <param name="CimType">Its CIM type (from the class declaration when the server gives one, else from the wire).</param>
/// <param name="IsKey">True for a key property.</param>
/// <param name="Value">The .NET value (<see cref="CimValues.Parse"/>; an array for array types), or null.</param>
public sealed record CimPropertyData(string Name, CimType CimType, bool IsKey, object? Value);

/// <summary>A CIM instance copied out of the library (DSP0004 §5.1): it holds no native resources.</summary>
public sealed class CimInstanceData
{
    /// <summary>An instance made by the caller (e.g. New-CimInstance -ClientOnly).</summary>
    /// <param name="className">The class, e.g. <c>Win32_Process</c>.</param>
    /// <param name="namespaceName">The namespace in slash form, e.g. <c>root/cimv2</c>.</param>
    /// <param name="serverName">The computer the instance belongs to, or empty.</param>
    /// <param name="superclasses">The superclasses, nearest first.</param>
    /// <param name="properties">The properties, in declaration order.</param>
    public CimInstanceData(string className, string namespaceName, string serverName, IReadOnlyList<string> superclasses, IReadOnlyList<CimPropertyData> properties)
    {
        ClassName = className;
        Namespace = namespaceName;
        ServerName = serverName;
        Superclasses = superclasses;
        Properties = properties;
    }

    /// <summary>The class, e.g. <c>Win32_Process</c>.</summary>
    public string ClassName { get; }

    /// <summary>Namespace in slash form, e.g. <c>root/cimv2</c>.</summary>
    public string Namespace { get; }

    /// <summary>The computer the instance came from (this machine's name for a local session).</summary>
    public string ServerName { get; }

    /// <summary>Superclasses, nearest first.</summary>
    public IReadOnlyList<string> Superclasses { get; }
    /// <summary>Properties in class declaration order.</summary>
    public IReadOnlyList<CimPropertyData> Properties { get; }

    internal const uint PropertyKey = 1, PropertyNull = 2;

    /// <summary>Copies an instance out in one native call (<c>rsess_instance_get_view</c>).</summary>
    internal static CimInstanceData Read(InstanceHandle h)
    {
        bool added = false;
        try
        {
            h.DangerousAddRef(ref added);
            return Read(h.DangerousGetHandle());
        }
        finally
        {
            if (added) h.DangerousRelease();
        }
    }

    /// <summary>As <see cref="Read(InstanceHandle)"/> for an <c>rsess_instance*</c> the caller keeps alive.</summary>
    internal static unsafe CimInstanceData Read(IntPtr instance)
    {
        Native.Check(NativeMethods.rsess_instance_get_view(instance, out IntPtr p));
        var view = (InstanceView*)p;
        var supers = new string[(int)view->SuperclassCount];
        for (int k = 0; k < supers.Length; k++) supers[k] = Text(view->Superclasses[k]) ?? "";
        var props = new CimPropertyData[(int)view->PropertyCount];
        for (int k = 0; k < props.Length; k++) props[k] = ReadProperty(&view->Properties[k]);
        return new CimInstanceData(Text(view->ClassName) ?? "", Text(view->NamespaceName) ?? "", Text(view->ServerName) ?? "", supers, props);
    }

    private static unsafe CimPropertyData ReadProperty(PropertyView* v)
    {
        string name = Text(v->Name) ?? "";
        bool isKey = (v->Flags & PropertyKey) != 0;
        if ((v->Flags & PropertyNull) != 0) return new CimPropertyData(name, v->CimType, isKey, null);
        object? value;
        if ((uint)v->CimType > (uint)CimType.Instance)
        {
            var texts = new string?[(int)v->ElementCount];
            for (int k = 0; k < texts.Length; k++) texts[k] = Text(v->Elements[k]);
            value = CimValues.ParseArray((CimType)((uint)v->CimType - 16), texts);
        }
        else
        {
            string? text = Text(v->Value);
            value = text is null ? null : CimValues.Parse(v->CimType, text);
        }
        return new CimPropertyData(name, v->CimType, isKey, value);
    }

    private static unsafe string? Text(byte* s) => s is null ? null : System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)s);

    // The view structs are written by the native library only.
#pragma warning disable CS0649
    /// <summary><c>rsess_property_view</c>.</summary>
    private unsafe struct PropertyView
    {
        public byte* Name;
        public CimType CimType;
        public uint Flags;
        public byte* Value;
        public nuint ElementCount;
        public byte** Elements;
    }

    /// <summary><c>rsess_instance_view</c>.</summary>
    private unsafe struct InstanceView
    {
        public byte* ClassName;
        public byte* NamespaceName;
        public byte* ServerName;
        public nuint SuperclassCount;
        public byte** Superclasses;
        public nuint PropertyCount;
        public PropertyView* Properties;
    }
#pragma warning restore CS0649
}

/// <summary>A reference value: the object path of an instance, <c>[namespace:]Class.Key="value",…</c>
/// (sent to a WS-Management server as an EPR).</summary>
public sealed record CimReference(string Path)
{
    /// <summary>The object path of an instance: <c>namespace:Class.Key="value",…</c>, quotes and backslashes
    /// in values escaped.</summary>
    /// <param name="namespaceName">The namespace, e.g. <c>root/cimv2</c>.</param>
    /// <param name="className">The class.</param>
    /// <param name="keys">The key properties' names and values (text, as <see cref="CimValues.Format"/> writes them).</param>
    /// <returns>The reference.</returns>
    public static CimReference Of(string namespaceName, string className, IEnumerable<(string Name, string Value)> keys)
    {
        string keyText = string.Join(",", keys.Select(k => $"{k.Name}=\"{k.Value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\""));
        return new CimReference(keyText.Length == 0 ? $"{namespaceName}:{className}" : $"{namespaceName}:{className}.{keyText}");
    }

    /// <summary>The object path.</summary>
    public override string ToString() => Path;
}

/// <summary>
/// Converts the C ABI's text forms to .NET values: integers to their exact .NET types, reals to
/// float/double, booleans, Char16 to char, DMTF datetimes (DSP0004 §5.2.4) to a local
/// <see cref="DateTime"/> or, for intervals, a <see cref="TimeSpan"/>; strings and references as they are.
/// </summary>
public static class CimValues
{
    /// <summary>The .NET value of one scalar of <paramref name="type"/> written as <paramref name="text"/>.</summary>
    /// <param name="type">A scalar CIM type.</param>
    /// <param name="text">The value as the C ABI writes it: invariant culture, <c>true</c>/<c>false</c>,
    /// DMTF datetimes.</param>
    /// <returns>The value, typed as <see cref="DotNetType"/> says; the text itself for strings, references
    /// and embedded instances.</returns>
    /// <exception cref="FormatException">The text is not a value of that type.</exception>
    /// <exception cref="OverflowException">The number is out of the type's range.</exception>
    public static object Parse(CimType type, string text)
    {
        var inv = CultureInfo.InvariantCulture;
        return type switch
        {
            CimType.Boolean => bool.Parse(text),
            CimType.UInt8 => byte.Parse(text, inv),
            CimType.SInt8 => sbyte.Parse(text, inv),
            CimType.UInt16 => ushort.Parse(text, inv),
            CimType.SInt16 => short.Parse(text, inv),
            CimType.UInt32 => uint.Parse(text, inv),
            CimType.SInt32 => int.Parse(text, inv),
            CimType.UInt64 => ulong.Parse(text, inv),
            CimType.SInt64 => long.Parse(text, inv),
            CimType.Real32 => float.Parse(text, NumberStyles.Float, inv),
            CimType.Real64 => double.Parse(text, NumberStyles.Float, inv),
            CimType.Char16 => text.Length > 0 ? text[0] : '\0',
            CimType.DateTime => ParseDateTime(text),
            _ => text,
        };
    }

    /// <summary>A typed array (<c>string[]</c>, <c>ushort[]</c>, …) of <paramref name="elementType"/>.</summary>
    /// <param name="elementType">The scalar CIM type of the elements.</param>
    /// <param name="texts">The elements as text; null elements stay null (in an array of a reference type).</param>
    /// <returns>The array; an array of intervals is a <see cref="TimeSpan"/> array.</returns>
    /// <exception cref="FormatException">An element is not a value of that type.</exception>
    public static Array ParseArray(CimType elementType, IReadOnlyList<string?> texts)
    {
        Type clr = ClrType(elementType, texts);
        Array result = Array.CreateInstance(clr, texts.Count);
        for (int i = 0; i < texts.Count; i++)
            result.SetValue(texts[i] is string text ? Parse(elementType, text) : null, i);
        return result;
    }

    /// <summary>
    /// A DMTF datetime: <c>yyyymmddHHMMSS.mmmmmmsUUU</c> (a point in time, returned as local time) or
    /// <c>ddddddddHHMMSS.mmmmmm:000</c> (an interval, returned as <see cref="TimeSpan"/>); DSP0004 §5.2.4.
    /// </summary>
    /// <param name="text">The 25 characters of the datetime; <c>sUUU</c> is the UTC offset in minutes.</param>
    /// <returns>A <see cref="DateTime"/> of kind <see cref="DateTimeKind.Local"/>, or a <see cref="TimeSpan"/>.</returns>
    /// <exception cref="FormatException">The text is not a DMTF datetime.</exception>
    public static object ParseDateTime(string text)
    {
        if (text.Length != 25 || text[14] != '.') throw new FormatException($"'{text}' is not a DMTF datetime.");
        var inv = CultureInfo.InvariantCulture;
        long micros = long.Parse(text.AsSpan(15, 6), NumberStyles.None, inv);
        if (text[21] == ':')
        {
            int days = int.Parse(text.AsSpan(0, 8), NumberStyles.None, inv);
            int h = int.Parse(text.AsSpan(8, 2), inv), m = int.Parse(text.AsSpan(10, 2), inv), s = int.Parse(text.AsSpan(12, 2), inv);
            return new TimeSpan(days, h, m, s) + TimeSpan.FromTicks(micros * 10);
        }
        var local = new DateTime(
            int.Parse(text.AsSpan(0, 4), inv), int.Parse(text.AsSpan(4, 2), inv), int.Parse(text.AsSpan(6, 2), inv),
            int.Parse(text.AsSpan(8, 2), inv), int.Parse(text.AsSpan(10, 2), inv), int.Parse(text.AsSpan(12, 2), inv),
            DateTimeKind.Unspecified).AddTicks(micros * 10);
        int offset = int.Parse(text.AsSpan(22, 3), inv) * (text[21] == '-' ? -1 : 1);
        return new DateTimeOffset(local, TimeSpan.FromMinutes(offset)).LocalDateTime;
    }

    /// <summary>
    /// The CIM type and C ABI text of a .NET value (the inverse of <see cref="Parse"/>): integers by
    /// their .NET width, float/double, bool, char, DateTime/DateTimeOffset and TimeSpan as DMTF
    /// datetimes, <see cref="CimReference"/> as a reference, anything else as a string (invariant
    /// culture); arrays element by element, typed by their first element.
    /// </summary>
    /// <param name="value">The value, or null.</param>
    /// <returns>The CIM type and the texts: one for a scalar, one per element for an array (null
    /// elements stay null), none for null (a null string).</returns>
    public static (CimType Type, string?[] Texts) Format(object? value)
    {
        if (value is null) return (CimType.String, []);
        if (value is Array array)
        {
            object?[] items = array.Cast<object?>().ToArray();
            CimType element = items is [{ } first, ..] ? Scalar(first).Type : CimType.String;
            return ((CimType)((uint)element + 16), items.Select(v => v is null ? null : Scalar(v).Text).ToArray());
        }
        var (type, text) = Scalar(value);
        return (type, [text]);
    }

    private static (CimType Type, string Text) Scalar(object value)
    {
        var inv = CultureInfo.InvariantCulture;
        return value switch
        {
            bool b => (CimType.Boolean, b ? "true" : "false"),
            byte v => (CimType.UInt8, v.ToString(inv)),
            sbyte v => (CimType.SInt8, v.ToString(inv)),
            ushort v => (CimType.UInt16, v.ToString(inv)),
            short v => (CimType.SInt16, v.ToString(inv)),
            uint v => (CimType.UInt32, v.ToString(inv)),
            int v => (CimType.SInt32, v.ToString(inv)),
            ulong v => (CimType.UInt64, v.ToString(inv)),
            long v => (CimType.SInt64, v.ToString(inv)),
            float v => (CimType.Real32, v.ToString("R", inv)),
            double v => (CimType.Real64, v.ToString("R", inv)),
            decimal v => (CimType.Real64, v.ToString(inv)),
            char c => (CimType.Char16, c.ToString()),
            DateTime d => (CimType.DateTime, Dmtf(new DateTimeOffset(d))),
            DateTimeOffset d => (CimType.DateTime, Dmtf(d)),
            CimReference r => (CimType.Reference, r.Path),
            TimeSpan t => (CimType.DateTime, $"{t.Days:D8}{t.Hours:D2}{t.Minutes:D2}{t.Seconds:D2}.{t.Ticks % TimeSpan.TicksPerSecond / 10:D6}:000"),
            _ => (CimType.String, Convert.ToString(value, inv) ?? ""),
        };
    }

    private static string Dmtf(DateTimeOffset d)
    {
        int offset = (int)d.Offset.TotalMinutes;
        return d.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + $".{d.Ticks % TimeSpan.TicksPerSecond / 10:D6}" + (offset < 0 ? "-" : "+") + Math.Abs(offset).ToString("D3", CultureInfo.InvariantCulture);
    }

    private static Type ClrType(CimType type, IReadOnlyList<string?> texts) =>
        type == CimType.DateTime && texts.Count > 0 && texts[0] is { Length: 25 } t && t[21] == ':' ? typeof(TimeSpan) : DotNetType(type) ?? typeof(string);

    /// <summary>
    /// The .NET type that values of scalar CIM type <paramref name="type"/> take (<see cref="Parse"/>'s
    /// results): <c>uint</c> for UInt32, <see cref="DateTime"/> for DateTime (an interval is a
    /// <see cref="TimeSpan"/>), <c>string</c> for String; null for references and embedded instances.
    /// </summary>
    /// <param name="type">A scalar CIM type.</param>
    /// <returns>The .NET type, or null.</returns>
    public static Type? DotNetType(CimType type) => type switch
    {
        CimType.Boolean => typeof(bool),
        CimType.UInt8 => typeof(byte),
        CimType.SInt8 => typeof(sbyte),
        CimType.UInt16 => typeof(ushort),
        CimType.SInt16 => typeof(short),
        CimType.UInt32 => typeof(uint),
        CimType.SInt32 => typeof(int),
        CimType.UInt64 => typeof(ulong),
        CimType.SInt64 => typeof(long),
        CimType.Real32 => typeof(float),
        CimType.Real64 => typeof(double),
        CimType.Char16 => typeof(char),
        CimType.DateTime => typeof(DateTime),
        CimType.String => typeof(string),
        _ => null,
    };
}
