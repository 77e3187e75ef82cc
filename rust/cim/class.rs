//! CIM class declarations (DSP0004 §5.1): a class's name, superclass, qualifiers, properties and
//! methods with their declared types. What Get-CimClass shows and what types the values of instances
//! and method results read from a WS-Management server.

use super::CimType;

/// The boolean qualifiers a declaration can carry, as bits of [`ClassSchema::qualifiers`],
/// [`PropertySchema::qualifiers`] and [`MethodSchema::qualifiers`] (DSP0004 §5.6.3).
pub mod qualifier {
    /// A key property.
    pub const KEY: u32 = 1;
    /// An in-parameter of a method.
    pub const IN: u32 = 2;
    /// An out-parameter of a method.
    pub const OUT: u32 = 4;
    /// A property or parameter that must have a value.
    pub const REQUIRED: u32 = 8;
    /// A static method (invoked on the class, not an instance).
    pub const STATIC: u32 = 16;
    /// A class that has no instances of its own.
    pub const ABSTRACT: u32 = 32;
    /// An association class.
    pub const ASSOCIATION: u32 = 64;
    /// A readable property.
    pub const READ: u32 = 128;
    /// A writable property.
    pub const WRITE: u32 = 256;

    /// Every qualifier bit with its DSP0004 name, in bit order.
    pub const NAMES: [(u32, &str); 9] = [
        (KEY, "Key"),
        (IN, "In"),
        (OUT, "Out"),
        (REQUIRED, "Required"),
        (STATIC, "Static"),
        (ABSTRACT, "Abstract"),
        (ASSOCIATION, "Association"),
        (READ, "Read"),
        (WRITE, "Write"),
    ];

    /// The bit of the qualifier called `name` (case-insensitive), if it is one of these.
    pub fn bit(name: &str) -> Option<u32> {
        NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(b, _)| *b)
    }
}

/// A class declaration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassSchema {
    /// e.g. `Win32_Process`.
    pub name: String,
    /// The direct superclass, e.g. `CIM_Process`; None for a root class.
    pub superclass: Option<String>,
    /// [`qualifier`] bits (ABSTRACT, ASSOCIATION).
    pub qualifiers: u32,
    /// In declaration order.
    pub properties: Vec<PropertySchema>,
    /// In declaration order.
    pub methods: Vec<MethodSchema>,
}

/// A declared method: its return type, qualifiers (STATIC) and parameters (in and out alike).
#[derive(Debug, Clone, PartialEq)]
pub struct MethodSchema {
    pub name: String,
    /// The type of `ReturnValue` (CIM-XML's default is uint32).
    pub return_type: CimType,
    /// [`qualifier`] bits (STATIC).
    pub qualifiers: u32,
    /// In declaration order; IN and OUT qualifiers tell which way each goes.
    pub parameters: Vec<PropertySchema>,
}

/// One declared property or method parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertySchema {
    pub name: String,
    /// The declared type; an array type for `PROPERTY.ARRAY`/`PARAMETER.ARRAY`.
    pub cim_type: CimType,
    /// [`qualifier`] bits (KEY, IN, OUT, REQUIRED, READ, WRITE).
    pub qualifiers: u32,
    /// The class a reference (or reference array) points to, when declared.
    pub reference_class: Option<String>,
}

impl PropertySchema {
    /// A declaration with no qualifiers and no reference class.
    pub fn new(name: impl Into<String>, cim_type: CimType) -> Self {
        PropertySchema { name: name.into(), cim_type, qualifiers: 0, reference_class: None }
    }

    /// True for a key property.
    pub fn is_key(&self) -> bool {
        self.qualifiers & qualifier::KEY != 0
    }
}

impl MethodSchema {
    /// The declaration that types a method's output: `ReturnValue` and every parameter.
    pub fn output_schema(&self) -> ClassSchema {
        let mut properties = vec![PropertySchema::new("ReturnValue", self.return_type)];
        properties.extend(self.parameters.iter().cloned());
        ClassSchema { name: format!("{}_OUTPUT", self.name), properties, ..ClassSchema::default() }
    }
}

impl ClassSchema {
    /// The declared property called `name` (case-insensitive).
    pub fn property(&self, name: &str) -> Option<&PropertySchema> {
        self.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The declared method called `name` (case-insensitive).
    pub fn method(&self, name: &str) -> Option<&MethodSchema> {
        self.methods.iter().find(|m| m.name.eq_ignore_ascii_case(name))
    }
}
