//! CIM_Error (DMTF CIM schema, DSP0004 §5.5.3 and DSP0223): the class CIM operation errors are made of.
//! It has no instances; Get-CimClass declares it, as Windows' root/cimv2 does, for scripts that
//! discover it by name.

use crate::cim::class::{qualifier, PropertySchema};
use crate::cim::{CimInstance, CimType};
use crate::error::Result;

use super::system::Machine;

pub(super) const SUPERCLASSES: &[&str] = &[];

/// No instances: errors are made when an operation fails, never enumerated.
pub(super) fn read(_m: &Machine) -> Result<Vec<CimInstance>> {
    Ok(Vec::new())
}

/// CIM_Error's properties, with the DMTF schema's names and types.
pub(super) fn declared() -> Vec<PropertySchema> {
    [
        ("ErrorType", CimType::UInt16),
        ("OtherErrorType", CimType::String),
        ("OwningEntity", CimType::String),
        ("MessageID", CimType::String),
        ("Message", CimType::String),
        ("MessageArguments", CimType::StringArray),
        ("PerceivedSeverity", CimType::UInt16),
        ("ProbableCause", CimType::UInt16),
        ("ProbableCauseDescription", CimType::String),
        ("RecommendedActions", CimType::StringArray),
        ("ErrorSource", CimType::String),
        ("ErrorSourceFormat", CimType::UInt16),
        ("OtherErrorSourceFormat", CimType::String),
        ("CIMStatusCode", CimType::UInt32),
        ("CIMStatusCodeDescription", CimType::String),
    ]
    .into_iter()
    .map(|(name, cim_type)| {
        let required = if name == "MessageID" { qualifier::REQUIRED } else { 0 };
        PropertySchema { qualifiers: qualifier::READ | required, ..PropertySchema::new(name, cim_type) }
    })
    .collect()
}
