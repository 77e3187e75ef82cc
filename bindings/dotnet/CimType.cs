namespace RemoteSessions.Native;

/// <summary>
/// CIM types (DSP0004 §5.2), numbered as <c>Microsoft.Management.Infrastructure.CimType</c> and the C ABI's
/// <c>rsess_cim_type</c>: scalars 1–16, each array type = its scalar type + 16. <see cref="CimValues"/>
/// gives the .NET type of each.
/// </summary>
public enum CimType : uint
{
    /// <summary>No type known (a null value on the wire without a declaration).</summary>
    Unknown = 0,
    /// <summary><c>boolean</c>: <see cref="bool"/>.</summary>
    Boolean,
    /// <summary><c>uint8</c>: <see cref="byte"/>.</summary>
    UInt8,
    /// <summary><c>sint8</c>: <see cref="sbyte"/>.</summary>
    SInt8,
    /// <summary><c>uint16</c>: <see cref="ushort"/>.</summary>
    UInt16,
    /// <summary><c>sint16</c>: <see cref="short"/>.</summary>
    SInt16,
    /// <summary><c>uint32</c>: <see cref="uint"/>.</summary>
    UInt32,
    /// <summary><c>sint32</c>: <see cref="int"/>.</summary>
    SInt32,
    /// <summary><c>uint64</c>: <see cref="ulong"/>.</summary>
    UInt64,
    /// <summary><c>sint64</c>: <see cref="long"/>.</summary>
    SInt64,
    /// <summary><c>real32</c>: <see cref="float"/>.</summary>
    Real32,
    /// <summary><c>real64</c>: <see cref="double"/>.</summary>
    Real64,
    /// <summary><c>char16</c>: <see cref="char"/>.</summary>
    Char16,
    /// <summary><c>datetime</c>: a point in time (<see cref="System.DateTime"/>, local) or an interval
    /// (<see cref="TimeSpan"/>); DSP0004 §5.2.4.</summary>
    DateTime,
    /// <summary><c>string</c>: <see cref="string"/>.</summary>
    String,
    /// <summary>A reference to an instance: its object path as text (<see cref="CimReference"/> when sent).</summary>
    Reference,
    /// <summary>An embedded instance.</summary>
    Instance,
    /// <summary>Array of <see cref="Boolean"/>.</summary>
    BooleanArray,
    /// <summary>Array of <see cref="UInt8"/>.</summary>
    UInt8Array,
    /// <summary>Array of <see cref="SInt8"/>.</summary>
    SInt8Array,
    /// <summary>Array of <see cref="UInt16"/>.</summary>
    UInt16Array,
    /// <summary>Array of <see cref="SInt16"/>.</summary>
    SInt16Array,
    /// <summary>Array of <see cref="UInt32"/>.</summary>
    UInt32Array,
    /// <summary>Array of <see cref="SInt32"/>.</summary>
    SInt32Array,
    /// <summary>Array of <see cref="UInt64"/>.</summary>
    UInt64Array,
    /// <summary>Array of <see cref="SInt64"/>.</summary>
    SInt64Array,
    /// <summary>Array of <see cref="Real32"/>.</summary>
    Real32Array,
    /// <summary>Array of <see cref="Real64"/>.</summary>
    Real64Array,
    /// <summary>Array of <see cref="Char16"/>.</summary>
    Char16Array,
    /// <summary>Array of <see cref="DateTime"/>.</summary>
    DateTimeArray,
    /// <summary>Array of <see cref="String"/>.</summary>
    StringArray,
    /// <summary>Array of <see cref="Reference"/>.</summary>
    ReferenceArray,
    /// <summary>Array of <see cref="Instance"/>.</summary>
    InstanceArray,
}

/// <summary>How <see cref="SessionScope.Find"/> and <see cref="SessionScope.FindPSSessions"/> read their
/// values (the C ABI's <c>rsess_lookup</c>).</summary>
public enum Lookup : uint
{
    /// <summary>Every session of the scope; values are ignored.</summary>
    All = 0,
    /// <summary>Decimal session Ids.</summary>
    Id = 1,
    /// <summary>Names or case-insensitive wildcard patterns.</summary>
    Name = 2,
    /// <summary>Computer names, exact and case-insensitive.</summary>
    ComputerName = 3,
    /// <summary>Session InstanceIds (GUIDs).</summary>
    InstanceId = 4,
}

/// <summary>The session protocol asked for by session options (the C ABI's <c>rsess_protocol</c>).</summary>
public enum ProtocolKind : uint
{
    /// <summary>The library chooses: the local provider for this machine, WS-Management for another.</summary>
    Default = 0,
    /// <summary>DCOM (New-CimSessionOption -Protocol Dcom): only this machine, served by the local provider.</summary>
    Dcom = 1,
    /// <summary>WS-Management (DMTF DSP0226, MS-WSMV).</summary>
    Wsman = 2,
}

/// <summary>Flags of CIM operations (<c>RSESS_OPERATION_*</c>).</summary>
[Flags]
public enum OperationFlags : uint
{
    /// <summary>Every property, instances of the class and its subclasses.</summary>
    None = 0,
    /// <summary>Only key properties (Get-CimInstance -KeyOnly).</summary>
    KeysOnly = 1,
    /// <summary>Only instances of exactly the class asked for (Get-CimInstance -Shallow).</summary>
    Shallow = 2,
}

/// <summary>The boolean qualifiers a class, property, method or parameter declaration carries
/// (<c>RSESS_QUALIFIER_*</c>; DSP0004 §5.6.3).</summary>
[Flags]
public enum CimQualifiers : uint
{
    /// <summary>No qualifier.</summary>
    None = 0,
    /// <summary>A key property: part of the instance's identity.</summary>
    Key = 1,
    /// <summary>A method parameter passed in.</summary>
    In = 2,
    /// <summary>A method parameter passed out.</summary>
    Out = 4,
    /// <summary>A value is required (not null).</summary>
    Required = 8,
    /// <summary>A method invoked on the class, not an instance.</summary>
    Static = 16,
    /// <summary>A class that has no instances of its own.</summary>
    Abstract = 32,
    /// <summary>An association class.</summary>
    Association = 64,
    /// <summary>A property that can be read.</summary>
    Read = 128,
    /// <summary>A property that can be written.</summary>
    Write = 256,
}
