//! The C ABI's numbers: the library version, CIM types, operation and property flags, qualifier bits.

/// The major version of this header and library (semantic versioning: a change breaks callers).
pub const RSESS_VERSION_MAJOR: u32 = 0;
/// The minor version (additions that keep callers working).
pub const RSESS_VERSION_MINOR: u32 = 1;
/// The patch version.
pub const RSESS_VERSION_PATCH: u32 = 0;

/// A CIM type number, as .NET's `Microsoft.Management.Infrastructure.CimType`: scalars 1–16, each
/// array type is its scalar type + 16.
pub type rsess_cim_type = u32;
pub const RSESS_CIM_TYPE_UNKNOWN: rsess_cim_type = 0;
pub const RSESS_CIM_TYPE_BOOLEAN: rsess_cim_type = 1;
pub const RSESS_CIM_TYPE_UINT8: rsess_cim_type = 2;
pub const RSESS_CIM_TYPE_SINT8: rsess_cim_type = 3;
pub const RSESS_CIM_TYPE_UINT16: rsess_cim_type = 4;
pub const RSESS_CIM_TYPE_SINT16: rsess_cim_type = 5;
pub const RSESS_CIM_TYPE_UINT32: rsess_cim_type = 6;
pub const RSESS_CIM_TYPE_SINT32: rsess_cim_type = 7;
pub const RSESS_CIM_TYPE_UINT64: rsess_cim_type = 8;
pub const RSESS_CIM_TYPE_SINT64: rsess_cim_type = 9;
pub const RSESS_CIM_TYPE_REAL32: rsess_cim_type = 10;
pub const RSESS_CIM_TYPE_REAL64: rsess_cim_type = 11;
pub const RSESS_CIM_TYPE_CHAR16: rsess_cim_type = 12;
pub const RSESS_CIM_TYPE_DATETIME: rsess_cim_type = 13;
pub const RSESS_CIM_TYPE_STRING: rsess_cim_type = 14;
pub const RSESS_CIM_TYPE_REFERENCE: rsess_cim_type = 15;
pub const RSESS_CIM_TYPE_INSTANCE: rsess_cim_type = 16;
pub const RSESS_CIM_TYPE_BOOLEAN_ARRAY: rsess_cim_type = 17;
pub const RSESS_CIM_TYPE_UINT8_ARRAY: rsess_cim_type = 18;
pub const RSESS_CIM_TYPE_SINT8_ARRAY: rsess_cim_type = 19;
pub const RSESS_CIM_TYPE_UINT16_ARRAY: rsess_cim_type = 20;
pub const RSESS_CIM_TYPE_SINT16_ARRAY: rsess_cim_type = 21;
pub const RSESS_CIM_TYPE_UINT32_ARRAY: rsess_cim_type = 22;
pub const RSESS_CIM_TYPE_SINT32_ARRAY: rsess_cim_type = 23;
pub const RSESS_CIM_TYPE_UINT64_ARRAY: rsess_cim_type = 24;
pub const RSESS_CIM_TYPE_SINT64_ARRAY: rsess_cim_type = 25;
pub const RSESS_CIM_TYPE_REAL32_ARRAY: rsess_cim_type = 26;
pub const RSESS_CIM_TYPE_REAL64_ARRAY: rsess_cim_type = 27;
pub const RSESS_CIM_TYPE_CHAR16_ARRAY: rsess_cim_type = 28;
pub const RSESS_CIM_TYPE_DATETIME_ARRAY: rsess_cim_type = 29;
pub const RSESS_CIM_TYPE_STRING_ARRAY: rsess_cim_type = 30;
pub const RSESS_CIM_TYPE_REFERENCE_ARRAY: rsess_cim_type = 31;
pub const RSESS_CIM_TYPE_INSTANCE_ARRAY: rsess_cim_type = 32;

/// Operation flag: only key properties (Get-CimInstance -KeyOnly).
pub const RSESS_OPERATION_KEYS_ONLY: u32 = 1;
/// Operation flag: only instances of exactly the class asked for (Get-CimInstance -Shallow).
pub const RSESS_OPERATION_SHALLOW: u32 = 2;
/// Property flag: the property is a key of its class.
pub const RSESS_PROPERTY_KEY: u32 = 1;
/// Property flag: the property has no value.
pub const RSESS_PROPERTY_NULL: u32 = 2;

/// Qualifier bit: a key property.
pub const RSESS_QUALIFIER_KEY: u32 = 1;
/// Qualifier bit: an in-parameter.
pub const RSESS_QUALIFIER_IN: u32 = 2;
/// Qualifier bit: an out-parameter.
pub const RSESS_QUALIFIER_OUT: u32 = 4;
/// Qualifier bit: a property or parameter that must have a value.
pub const RSESS_QUALIFIER_REQUIRED: u32 = 8;
/// Qualifier bit: a static method.
pub const RSESS_QUALIFIER_STATIC: u32 = 16;
/// Qualifier bit: an abstract class.
pub const RSESS_QUALIFIER_ABSTRACT: u32 = 32;
/// Qualifier bit: an association class.
pub const RSESS_QUALIFIER_ASSOCIATION: u32 = 64;
/// Qualifier bit: a readable property.
pub const RSESS_QUALIFIER_READ: u32 = 128;
/// Qualifier bit: a writable property.
pub const RSESS_QUALIFIER_WRITE: u32 = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_are_the_crates() {
        let parts = [RSESS_VERSION_MAJOR, RSESS_VERSION_MINOR, RSESS_VERSION_PATCH].map(|n| n.to_string());
        assert_eq!(parts.join("."), env!("CARGO_PKG_VERSION"));
    }
}
