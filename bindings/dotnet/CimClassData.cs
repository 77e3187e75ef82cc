namespace RemoteSessions.Native;

/// <summary>A declared property or method parameter.</summary>
/// <param name="Name">The property's or parameter's name.</param>
/// <param name="CimType">Its CIM type.</param>
/// <param name="Qualifiers">Its boolean qualifiers (<see cref="CimQualifiers.Key"/>, <see cref="CimQualifiers.In"/>, …).</param>
/// <param name="ReferenceClassName">For a reference, the class it refers to; null otherwise or when undeclared.</param>
public sealed record CimPropertyDeclarationData(string Name, CimType CimType, CimQualifiers Qualifiers, string? ReferenceClassName);

/// <summary>A declared method.</summary>
/// <param name="Name">The method's name.</param>
/// <param name="ReturnType">The CIM type of its return value.</param>
/// <param name="Qualifiers">Its qualifiers (<see cref="CimQualifiers.Static"/>).</param>
/// <param name="Parameters">Its parameters, in and out alike; <see cref="CimQualifiers.In"/> and
/// <see cref="CimQualifiers.Out"/> tell which.</param>
public sealed record CimMethodDeclarationData(string Name, CimType ReturnType, CimQualifiers Qualifiers, IReadOnlyList<CimPropertyDeclarationData> Parameters);

/// <summary>A class declaration copied out of the library (Get-CimClass; DSP0004 §5.1).</summary>
/// <param name="ClassName">e.g. <c>Win32_Process</c>.</param>
/// <param name="SuperclassName">The direct superclass, or null.</param>
/// <param name="Namespace">Slash form, e.g. <c>root/cimv2</c>.</param>
/// <param name="ServerName">The session's computer, or this machine's name for a local session.</param>
/// <param name="Qualifiers"><see cref="CimQualifiers.Abstract"/>, <see cref="CimQualifiers.Association"/>.</param>
/// <param name="Properties">The declared properties, inherited ones included, in declaration order.</param>
/// <param name="Methods">The declared methods.</param>
public sealed record CimClassData(string ClassName, string? SuperclassName, string Namespace, string ServerName, CimQualifiers Qualifiers,
    IReadOnlyList<CimPropertyDeclarationData> Properties, IReadOnlyList<CimMethodDeclarationData> Methods)
{
    internal static CimClassData Read(ClassHandle h)
    {
        string name = Native.ReadString(NativeMethods.rsess_class_name(h, out IntPtr n), n);
        Native.Check(NativeMethods.rsess_class_superclass(h, out IntPtr sc));
        string? superclass = Native.TakeString(sc);
        string ns = Native.ReadString(NativeMethods.rsess_class_namespace(h, out IntPtr nsp), nsp);
        string server = Native.ReadString(NativeMethods.rsess_class_server_name(h, out IntPtr sv), sv);
        Native.Check(NativeMethods.rsess_class_qualifiers(h, out CimQualifiers qualifiers));
        Native.Check(NativeMethods.rsess_class_property_count(h, out nuint count));
        var properties = new CimPropertyDeclarationData[(int)count];
        for (nuint p = 0; p < count; p++)
        {
            Native.Check(NativeMethods.rsess_class_property(h, p, out IntPtr pn, out CimType t, out CimQualifiers q, out IntPtr rc));
            properties[(int)p] = new CimPropertyDeclarationData(Native.TakeString(pn) ?? "", t, q, Native.TakeString(rc));
        }
        Native.Check(NativeMethods.rsess_class_method_count(h, out nuint methodCount));
        var methods = new CimMethodDeclarationData[(int)methodCount];
        for (nuint m = 0; m < methodCount; m++)
        {
            Native.Check(NativeMethods.rsess_class_method(h, m, out IntPtr mn, out CimType rt, out CimQualifiers mq, out nuint paramCount));
            var parameters = new CimPropertyDeclarationData[(int)paramCount];
            for (nuint p = 0; p < paramCount; p++)
            {
                Native.Check(NativeMethods.rsess_class_parameter(h, m, p, out IntPtr pn, out CimType t, out CimQualifiers q, out IntPtr rc));
                parameters[(int)p] = new CimPropertyDeclarationData(Native.TakeString(pn) ?? "", t, q, Native.TakeString(rc));
            }
            methods[(int)m] = new CimMethodDeclarationData(Native.TakeString(mn) ?? "", rt, mq, parameters);
        }
        return new CimClassData(name, superclass, ns, server, qualifiers, properties, methods);
    }
}
