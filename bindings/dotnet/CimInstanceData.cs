using System.Globalization;

namespace RemoteSessions.Native;

/// <summary>One property of a <see cref="CimInstanceData"/>: .NET-typed value (see <see cref="CimValues"/>).</summary>
public sealed record CimPropertyData(string Name, CimType CimType, bool IsKey, object? Value);

/// <summary>A CIM instance copied out of the library.</summary>
public sealed class CimInstanceData
{
    /// <summary>An instance made by the caller (e.g. New-CimInstance -ClientOnly); <paramref name="namespaceName"/> in slash form.</summary>
    public CimInstanceData(string className, string namespaceName, string serverName, IReadOnlyList<string> superclasses, IReadOnlyList<CimPropertyData> properties)
    {
        ClassName = className;
        Namespace = namespaceName;
        ServerName = serverName;
        Superclasses = superclasses;
        Properties = properties;
    }

    public string ClassName { get; }
    /// <summary>Namespace in slash form, e.g. <c>root/cimv2</c>.</summary>
    public string Namespace { get; }
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
    /// <summary>The object path of an instance of <paramref name="className"/> in <paramref name="namespaceName"/> with
    /// these keys (values as <see cref="CimValues.Format"/> writes them; quotes and backslashes escaped).</summary>
    public static CimReference Of(string namespaceName, string className, IEnumerable<(string Name, string Value)> keys)
    {
        string keyText = string.Join(",", keys.Select(k => $"{k.Name}=\"{k.Value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\""));
        return new CimReference(keyText.Length == 0 ? $"{namespaceName}:{className}" : $"{namespaceName}:{className}.{keyText}");
    }

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
    /// <exception cref="FormatException">The text is not a value of that type.</exception>
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
    public static Array ParseArray(CimType elementType, IReadOnlyList<string?> texts)
    {
        Type clr = ClrType(elementType, texts);
        Array result = Array.CreateInstance(clr, texts.Count);
        for (int i = 0; i < texts.Count; i++)
            result.SetValue(texts[i] is null ? null : Parse(elementType, texts[i]!), i);
        return result;
    }

    /// <summary>
    /// A DMTF datetime: <c>yyyymmddHHMMSS.mmmmmmsUUU</c> (a point in time, returned as local time) or
    /// <c>ddddddddHHMMSS.mmmmmm:000</c> (an interval, returned as <see cref="TimeSpan"/>).
    /// </summary>
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
    /// datetimes, anything else as a string; arrays element by element. Null is a null string.
    /// </summary>
    public static (CimType Type, string?[] Texts) Format(object? value)
    {
        if (value is null) return (CimType.String, []);
        if (value is Array array)
        {
            object?[] items = array.Cast<object?>().ToArray();
            CimType element = items.Length == 0 || items[0] is null ? CimType.String : Scalar(items[0]!).Type;
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
