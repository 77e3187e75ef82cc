namespace RemoteSessions.Native;

/// <summary>
/// CIM types, numbered as <c>Microsoft.Management.Infrastructure.CimType</c> and the C ABI's
/// <c>rsess_cim_type</c>: scalars 1–16, each array type = its scalar type + 16.
/// </summary>
public enum CimType : uint
{
    Unknown = 0, Boolean, UInt8, SInt8, UInt16, SInt16, UInt32, SInt32, UInt64, SInt64, Real32, Real64,
    Char16, DateTime, String, Reference, Instance,
    BooleanArray, UInt8Array, SInt8Array, UInt16Array, SInt16Array, UInt32Array, SInt32Array, UInt64Array,
    SInt64Array, Real32Array, Real64Array, Char16Array, DateTimeArray, StringArray, ReferenceArray,
    InstanceArray,
}

/// <summary>How <see cref="SessionScope.Find"/> reads its values (the C ABI's <c>rsess_lookup</c>).</summary>
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
    Default = 0,
    Dcom = 1,
    Wsman = 2,
}

/// <summary>Flags of CIM operations (<c>RSESS_OPERATION_*</c>).</summary>
[Flags]
public enum OperationFlags : uint
{
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
    None = 0,
    Key = 1,
    In = 2,
    Out = 4,
    Required = 8,
    Static = 16,
    Abstract = 32,
    Association = 64,
    Read = 128,
    Write = 256,
}
