//! Typed CIM values and instances (DMTF DSP0004 types, numbered as .NET's
//! `Microsoft.Management.Infrastructure.CimType` so PowerShell users see the names they know), and the
//! WQL parser/evaluator in [`wql`], and class declarations in [`class`].

pub mod class;
pub mod datetime;
pub mod provider;
pub mod text;
pub mod wql;

pub use datetime::CimDateTime;

/// The default CIM namespace (`root\\cimv2`, spec §1.7), in slash form.
pub const DEFAULT_NAMESPACE: &str = "root/cimv2";

use std::fmt;

/// A CIM type. Scalars are 1–16; each array type is its scalar type + 16 (`StringArray` = 30).
/// Numbering follows `Microsoft.Management.Infrastructure.CimType`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CimType {
    Unknown = 0,
    Boolean = 1,
    UInt8 = 2,
    SInt8 = 3,
    UInt16 = 4,
    SInt16 = 5,
    UInt32 = 6,
    SInt32 = 7,
    UInt64 = 8,
    SInt64 = 9,
    Real32 = 10,
    Real64 = 11,
    Char16 = 12,
    DateTime = 13,
    String = 14,
    Reference = 15,
    Instance = 16,
    BooleanArray = 17,
    UInt8Array = 18,
    SInt8Array = 19,
    UInt16Array = 20,
    SInt16Array = 21,
    UInt32Array = 22,
    SInt32Array = 23,
    UInt64Array = 24,
    SInt64Array = 25,
    Real32Array = 26,
    Real64Array = 27,
    Char16Array = 28,
    DateTimeArray = 29,
    StringArray = 30,
    ReferenceArray = 31,
    InstanceArray = 32,
}

impl CimType {
    /// True for the `*Array` types.
    pub fn is_array(self) -> bool {
        (self as u32) > 16
    }

    /// The element type of an array type; a scalar type is its own element type.
    pub fn element(self) -> CimType {
        if self.is_array() {
            CimType::from_u32(self as u32 - 16).unwrap_or(CimType::Unknown)
        } else {
            self
        }
    }

    /// The array type whose elements are `self` (`self` must be a scalar type).
    pub fn array_of(self) -> CimType {
        if self.is_array() || self == CimType::Unknown {
            self
        } else {
            CimType::from_u32(self as u32 + 16).unwrap_or(CimType::Unknown)
        }
    }

    /// The type with this .NET `CimType` number, if any.
    pub fn from_u32(n: u32) -> Option<CimType> {
        use CimType::*;
        const ALL: [CimType; 33] = [
            Unknown, Boolean, UInt8, SInt8, UInt16, SInt16, UInt32, SInt32, UInt64, SInt64, Real32,
            Real64, Char16, DateTime, String, Reference, Instance, BooleanArray, UInt8Array,
            SInt8Array, UInt16Array, SInt16Array, UInt32Array, SInt32Array, UInt64Array,
            SInt64Array, Real32Array, Real64Array, Char16Array, DateTimeArray, StringArray,
            ReferenceArray, InstanceArray,
        ];
        ALL.get(n as usize).copied()
    }
}





/// A typed CIM value. `Null` is a property without a value (its type still comes from [`CimProperty`]).
#[derive(Debug, Clone, PartialEq)]
pub enum CimValue {
    Null,
    Boolean(bool),
    UInt8(u8),
    SInt8(i8),
    UInt16(u16),
    SInt16(i16),
    UInt32(u32),
    SInt32(i32),
    UInt64(u64),
    SInt64(i64),
    Real32(f32),
    Real64(f64),
    Char16(char),
    DateTime(CimDateTime),
    String(String),
    /// An object path (WS-Man EPR or WMI path) in text form.
    Reference(String),
    /// An embedded instance (a property of type `Instance`, e.g. from a WS-Man reply).
    Instance(Box<CimInstance>),
    /// Elements, all of the property's element type; never nested.
    Array(Vec<CimValue>),
}

impl CimValue {
    /// The text form the C ABI hands out for a scalar: integers in decimal, reals in Rust's shortest
    /// round-trip form, booleans `true`/`false`, datetimes in DMTF form ([`CimDateTime::to_dmtf`]),
    /// strings, chars and references as they are, an embedded instance in MOF form
    /// (`instance of C { P = v; }`). `None` for `Null` and for arrays (read elements).
    pub fn to_text(&self) -> Option<String> {
        let mut text = String::new();
        self.write_text(&mut text).then_some(text)
    }

    /// Appends [`CimValue::to_text`]'s form to `out` without a text of its own; false (nothing
    /// written) for `Null` and arrays.
    pub fn write_text(&self, out: &mut String) -> bool {
        use fmt::Write;
        // Writing to a String cannot fail.
        let _ = match self {
            CimValue::Null | CimValue::Array(_) => return false,
            CimValue::Instance(i) => out.write_str(&i.to_mof()),
            CimValue::Boolean(v) => write!(out, "{v}"),
            CimValue::UInt8(v) => write!(out, "{v}"),
            CimValue::SInt8(v) => write!(out, "{v}"),
            CimValue::UInt16(v) => write!(out, "{v}"),
            CimValue::SInt16(v) => write!(out, "{v}"),
            CimValue::UInt32(v) => write!(out, "{v}"),
            CimValue::SInt32(v) => write!(out, "{v}"),
            CimValue::UInt64(v) => write!(out, "{v}"),
            CimValue::SInt64(v) => write!(out, "{v}"),
            CimValue::Real32(v) => write!(out, "{v}"),
            CimValue::Real64(v) => write!(out, "{v}"),
            CimValue::Char16(v) => out.write_char(*v),
            CimValue::DateTime(v) => out.write_str(&v.to_dmtf()),
            CimValue::String(v) | CimValue::Reference(v) => out.write_str(v),
        };
        true
    }

    /// True for [`CimValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, CimValue::Null)
    }
}

impl fmt::Display for CimValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CimValue::Null => f.write_str("NULL"),
            CimValue::Array(items) => {
                f.write_str("{")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("}")
            }
            scalar => f.write_str(&scalar.to_text().unwrap_or_default()),
        }
    }
}

/// One property of an instance: name as the class declares it, declared type, value, and whether it is
/// a key of the class.
#[derive(Debug, Clone, PartialEq)]
pub struct CimProperty {
    pub name: String,
    pub cim_type: CimType,
    pub value: CimValue,
    pub key: bool,
}

impl CimProperty {
    /// A non-key property.
    pub fn new(name: &str, cim_type: CimType, value: CimValue) -> Self {
        CimProperty { name: name.to_string(), cim_type, value, key: false }
    }

    /// A key property.
    pub fn key(name: &str, cim_type: CimType, value: CimValue) -> Self {
        CimProperty { name: name.to_string(), cim_type, value, key: true }
    }
}

/// A CIM instance as the core hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct CimInstance {
    /// Namespace in slash form, e.g. `root/cimv2`.
    pub namespace: String,
    /// The instance's own class, e.g. `Win32_Process`.
    pub class_name: String,
    /// Superclasses, nearest first (`CIM_Process`, `CIM_LogicalElement`, `CIM_ManagedSystemElement`).
    pub superclasses: Vec<String>,
    /// The computer that served it (`CimSystemProperties.ServerName`).
    pub server_name: String,
    /// Properties in class declaration order.
    pub properties: Vec<CimProperty>,
}

impl CimInstance {
    /// The property called `name`, compared case-insensitively as CIM names are.
    pub fn property(&self, name: &str) -> Option<&CimProperty> {
        self.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The instance in MOF form, `instance of Class { Name = "v"; N = 1; }`, for display.
    pub fn to_mof(&self) -> String {
        let mut text = format!("instance of {} {{", self.class_name);
        for p in self.properties.iter().filter(|p| !p.value.is_null()) {
            match &p.value {
                CimValue::String(v) | CimValue::Reference(v) => text.push_str(&format!(" {} = \"{}\";", p.name, v.replace('\\', "\\\\").replace('"', "\\\""))),
                v => text.push_str(&format!(" {} = {v};", p.name)),
            }
        }
        text.push_str(" }");
        text
    }

    /// True when the instance's class or one of its superclasses is `class` (case-insensitive).
    pub fn is_a(&self, class: &str) -> bool {
        self.class_name.eq_ignore_ascii_case(class)
            || self.superclasses.iter().any(|c| c.eq_ignore_ascii_case(class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_types_are_scalar_plus_16() {
        assert_eq!(CimType::String.array_of(), CimType::StringArray);
        assert_eq!(CimType::StringArray.element(), CimType::String);
        assert!(CimType::InstanceArray.is_array());
        assert!(!CimType::Instance.is_array());
        assert_eq!(CimType::from_u32(33), None);
    }



}
